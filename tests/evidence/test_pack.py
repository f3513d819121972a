"""The evidence pack, on SQLite and PostgreSQL: the page and the PDF render what was
offered, shown and ticked; a fresh pack verifies offline with the tenant's key; altering
any single byte of it, or checking it with another key, fails; another tenant can fetch
neither the page nor the PDF."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import weasyprint

from accord.access import Actor
from accord.evidence import service
from accord.evidence.schemas import OfferCreate, TermsVersionCreate, parse_events
from accord.store import journal
from accord.store.checkpoints import Signer, load_key
from accord.store.db import Database
from accord.store.tenancy import Tenant
from accord.verifier import PACK_MARKER, VerifyError, verify_pack
from tests.evidence.conftest import Book, Client, journey

VERIFIER = Path(__file__).resolve().parents[2] / "src" / "accord" / "verifier.py"


def _capture(db: Database, book: Book, offer: str | None = None, token: str | None = None) -> None:
    with db.unit_of_work() as s:
        service.capture_events(
            s,
            offer_id=offer or book.offer,
            token=token or book.token,
            events=parse_events({"events": journey(book.contact)}),
            origin=service.Origin(ip="203.0.113.9", user_agent="Mozilla/5.0 (pack test)"),
        )


def pdf_strings(pdf: bytes) -> str:
    """Every string a PDF holds in its (deflated) streams and its body, as text: enough to
    find its title and outline (WeasyPrint writes glyph ids, not text, in page content)."""
    chunks = [pdf]
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL):
        try:
            chunks.append(zlib.decompress(m.group(1)))
        except zlib.error:
            continue
    text = []
    for chunk in chunks:
        text.append(chunk.decode("latin-1"))
        for h in re.findall(rb"<FEFF([0-9A-Fa-f]+)>", chunk):
            text.append(bytes.fromhex(h.decode()).decode("utf-16-be", "replace"))
    return "\n".join(text)


def split(data: bytes) -> tuple[bytes, dict]:  # type: ignore[type-arg]
    at = data.rindex(PACK_MARKER)
    return data[:at], json.loads(base64.b64decode(data[at + len(PACK_MARKER) :]))


def join(pdf: bytes, manifest: dict) -> bytes:  # type: ignore[type-arg]
    raw = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return pdf + PACK_MARKER + base64.b64encode(raw.encode()) + b"\n"


@pytest.fixture
def key(northwind: tuple[Tenant, Actor, Signer]) -> str:
    return northwind[2].verifier_key()


@pytest.fixture
def packed(db: Database, book: Book, erin: Actor, api: Client) -> bytes:
    _capture(db, book)
    r = api(erin).get(f"/api/offers/{book.offer}/pack.pdf")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert f"evidence-{book.offer}.pdf" in r.headers["content-disposition"]
    return r.content


def test_pdf_renders_and_verifies(
    packed: bytes, key: str, book: Book, db: Database, erin: Actor
) -> None:
    assert packed.startswith(b"%PDF-")
    pdf, manifest = split(packed)
    assert b"%%EOF" in pdf[-1024:]
    text = pdf_strings(pdf)
    assert "Fabrikam Ltd" in text  # the title and the outline name the customer
    assert "Managed IT Support" in text
    result = verify_pack(packed, key)
    assert result.offer_id == book.offer
    assert result.pdf_sha256 == hashlib.sha256(pdf).hexdigest() == manifest["pdf_sha256"]
    kinds = sorted({e["type"] for e in result.entries})
    assert kinds == ["contact", "customer", "journey_event", "offer", "terms_document",
                     "terms_version"]  # fmt: skip
    assert sum(e["type"] == "journey_event" for e in result.entries) == 5
    # the screens and the terms travel with the pack, by digest
    assert hashlib.sha256(b"".join([])).hexdigest() not in manifest["blobs"]
    assert result.blobs == 4  # three screens and the terms text
    # the issue is on record: the pack's own entry names this PDF
    with db.reading() as s:
        found = journal.read_entry(s, erin.tenant_id, result.pack_entry["seq"])
    assert found is not None
    entry = found[0]
    assert (entry.type, entry.actor, entry.data["offer_id"]) == (
        "evidence_pack",
        erin.label,
        book.offer,
    )
    assert entry.data["pdf_sha256"] == result.pdf_sha256
    assert entry.data["checkpoint_size"] == result.sizes[0] < result.sizes[1]


def test_the_standalone_verifier_checks_a_pack(packed: bytes, key: str, tmp_path: Path) -> None:
    path = tmp_path / "pack.pdf"
    path.write_bytes(packed)
    done = subprocess.run(
        [sys.executable, str(VERIFIER), "pack", str(path), "--key", key],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "verified"
    assert "consistency proof" in done.stdout
    path.write_bytes(packed + b" ")
    done = subprocess.run(
        [sys.executable, str(VERIFIER), "pack", str(path), "--key", key],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1 and "FAILED" in done.stderr and "last line" in done.stderr


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def _fails(data: bytes, key: str) -> str:
    with pytest.raises(VerifyError) as caught:
        verify_pack(data, key)
    return str(caught.value)


REGIONS = ["pdf", "marker", "manifest", "newline", "every_997th"]


@pytest.mark.parametrize("region", REGIONS)
def test_altering_any_byte_fails(packed: bytes, key: str, region: str) -> None:
    at = packed.rindex(PACK_MARKER)
    spans = {
        "pdf": range(0, at, max(1, at // 60)),
        "marker": range(at, at + len(PACK_MARKER)),
        "manifest": range(at + len(PACK_MARKER), len(packed) - 1, 131),
        "newline": range(len(packed) - 1, len(packed)),
        "every_997th": range(0, len(packed), 997),
    }
    positions = list(spans[region])
    assert positions
    for i in positions:
        _fails(_flip(packed, i), key)


@pytest.mark.parametrize(
    "tail", [b"x", b"\n", b"%%EOF\n", b"\n%%ACCORD-PACK e30=\n"], ids=["x", "nl", "eof", "trailer"]
)
def test_appended_bytes_fail(packed: bytes, key: str, tail: bytes) -> None:
    _fails(packed + tail, key)


def test_altering_a_decoded_part_fails(packed: bytes, key: str) -> None:
    """Tampering below the base64: a blob's bytes, a checkpoint's signature, an entry, the
    PDF digest, a proof; each re-encoded in the manifest's exact form."""
    pdf, manifest = split(packed)
    assert verify_pack(join(pdf, manifest), key)  # re-encoding itself changes nothing

    def tampered(change: object) -> str:
        m = json.loads(json.dumps(manifest))
        change(m)  # type: ignore[operator]
        return _fails(join(pdf, m), key)

    def blob(m: dict) -> None:  # type: ignore[type-arg]
        name = sorted(m["blobs"])[0]
        raw = bytearray(base64.b64decode(m["blobs"][name]))
        raw[len(raw) // 2] ^= 0x20
        m["blobs"][name] = base64.b64encode(bytes(raw)).decode()

    def signature(m: dict) -> None:  # type: ignore[type-arg]
        note = m["checkpoints"][0]
        body, _, sig = note.rpartition(" ")
        raw = bytearray(base64.b64decode(sig))
        raw[10] ^= 0x01
        m["checkpoints"][0] = body + " " + base64.b64encode(bytes(raw)).decode() + "\n"

    def second_signature(m: dict) -> None:  # type: ignore[type-arg]
        note = m["checkpoints"][1]
        body, _, sig = note.rpartition(" ")
        raw = bytearray(base64.b64decode(sig))
        raw[-1] ^= 0x01
        m["checkpoints"][1] = body + " " + base64.b64encode(bytes(raw)).decode() + "\n"

    def entry(m: dict) -> None:  # type: ignore[type-arg]
        raw = base64.b64decode(m["entries"][0]["entry"]).replace(b"Fabrikam", b"Fabrikan")
        m["entries"][0]["entry"] = base64.b64encode(raw).decode()

    def drop_blob(m: dict) -> None:  # type: ignore[type-arg]
        m["blobs"].pop(sorted(m["blobs"])[-1])

    def drop_entry(m: dict) -> None:  # type: ignore[type-arg]
        m["entries"] = [e for e in m["entries"] if e is not m["entries"][0]]

    def digest(m: dict) -> None:  # type: ignore[type-arg]
        m["pdf_sha256"] = hashlib.sha256(b"another pdf").hexdigest()

    def consistency(m: dict) -> None:  # type: ignore[type-arg]
        m["consistency"] = m["consistency"][:-1]

    def offer(m: dict) -> None:  # type: ignore[type-arg]
        m["offer_id"] = "00000000-0000-0000-0000-000000000000"

    assert "blob" in tampered(blob)
    assert "checkpoint 1" in tampered(signature)
    assert "checkpoint 2" in tampered(second_signature)
    assert "entries[0]" in tampered(entry)
    assert "not in the pack" in tampered(drop_blob) or "lacks" in tampered(drop_blob)
    tampered(drop_entry)
    assert "SHA-256" in tampered(digest)
    assert "consistency" in tampered(consistency)
    tampered(offer)


def test_a_wrong_key_fails(packed: bytes, mallory: Actor, key_dir: Path) -> None:
    other = load_key(key_dir, "contoso").verifier_key()
    assert "no signature" in _fails(packed, other) or "log" in _fails(packed, other)


def test_page_shows_the_pack(
    db: Database, book: Book, erin: Actor, browser: Client, key: str
) -> None:
    _capture(db, book)
    c = browser(erin)
    offer_page = c.get(f"/offers/{book.offer}")
    assert f'href="/offers/{book.offer}/pack"' in offer_page.text
    r = c.get(f"/offers/{book.offer}/pack")
    assert r.status_code == 200, r.text
    page = r.text
    for expected in ("Fabrikam Ltd", "Fiona Park", "Managed IT Support", "2. Term.",
                     "203.0.113.9", "Mozilla/5.0 (pack test)", "Appendix: proof",
                     "Ticked", "☑ ticked", "☐ not ticked", key):  # fmt: skip
        assert expected in page, expected
    # the captured page is shown inert: its structure, no script, no attribute, no password
    assert "<script" not in page.split("<body", 1)[1]
    assert 'type="password"' not in page and "[••••••]" in page
    assert page.count('class="entry"') >= 9


def test_a_pdf_terms_version_is_attached(
    db: Database, book: Book, erin: Actor, api: Client, key: str
) -> None:
    terms_pdf = weasyprint.HTML(string="<h1>MSA v3</h1><p>Clause 9 applies.</p>").write_pdf()
    with db.unit_of_work() as s:
        v3 = service.publish_terms_version(
            s,
            actor=erin,
            document_id=book.msa,
            data=TermsVersionCreate(label="v3", media_type="application/pdf"),
            content=terms_pdf,
        )
        offer, token = service.create_offer(
            s,
            actor=erin,
            data=OfferCreate.model_validate(
                {"customer_id": book.customer, "product": "Backup",
                 "parameters": {"amount": 9, "term": "12 months"}, "terms_version_id": v3}
            ),
        )  # fmt: skip
    _capture(db, book, offer, token)
    r = api(erin).get(f"/api/offers/{offer}/pack.pdf")
    assert r.status_code == 200, r.text
    result = verify_pack(r.content, key)
    pdf, manifest = split(r.content)
    digest = hashlib.sha256(terms_pdf).hexdigest()
    assert base64.b64decode(manifest["blobs"][digest]) == terms_pdf
    assert "MSA-v3.pdf" in pdf_strings(pdf)  # the attachment
    assert result.offer_id == offer


def test_another_tenant_gets_nothing(
    db: Database, book: Book, mallory: Actor, api: Client, browser: Client, erin: Actor
) -> None:
    _capture(db, book)
    with db.reading() as s:
        before = journal.tree_size(s, erin.tenant_id)
    assert api(mallory).get(f"/api/offers/{book.offer}/pack.pdf").status_code == 404
    assert browser(mallory).get(f"/offers/{book.offer}/pack").status_code == 404
    with db.reading() as s:
        assert journal.tree_size(s, erin.tenant_id) == before


def test_an_unknown_offer_is_404(api: Client, erin: Actor, book: Book) -> None:
    r = api(erin).get("/api/offers/00000000-0000-0000-0000-000000000000/pack.pdf")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


def test_screens_are_rebuilt_inert() -> None:
    from accord.evidence.pack import inert_screen

    page = (
        b'<html><head><title>T</title><script>alert(1)</script><link rel="stylesheet" '
        b'href="https://evil.example/x.css"><body onload="steal()"><h1 class="x">Terms</h1>'
        b'<img src="https://evil.example/p.png" alt="logo"><a href="javascript:x()">link</a>'
        b'<label><input type="checkbox" checked> I agree &amp; accept</label>'
        b'<input type="password" value="hunter2"><style>body{background:url(//e)}</style>'
        b"<p>&lt;script&gt; stays text</p></body></html>"
    )
    shown = str(inert_screen(page, "text/html"))
    assert "<h1>Terms</h1>" in shown and "☑" in shown and "I agree &amp; accept" in shown
    assert "[image: logo]" in shown and "link" in shown
    assert "&lt;script&gt; stays text" in shown
    for banned in ("<script", "alert(1)", "evil.example", "onload", "href", "src=", "hunter2",
                   "class=\"x\"", "javascript:", "background"):  # fmt: skip
        assert banned not in shown, banned
