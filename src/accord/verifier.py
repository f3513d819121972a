"""Accord's standalone verifier: checks an exported bundle with no database and no server.

This module depends on nothing but the standard library and `cryptography`, so a customer,
an auditor or a court can copy this one file and run it:

    python verifier.py BUNDLE.json --key 'accord.local/northwind+1a2b3c4d+AQ...'
    python verifier.py pack PACK.pdf --key 'accord.local/northwind+1a2b3c4d+AQ...'

A bundle is JSON: {"format": "accord-bundle/1", "checkpoint": <C2SP signed note>,
"entries": [{"seq": n, "entry": <base64 of the canonical entry bytes>,
"proof": [<base64 hashes>]}]}. The verifier checks the checkpoint's Ed25519 signature
against the key it is *given* (never the one in the bundle alone: that would prove
nothing), then each entry's RFC 9162 inclusion proof against the checkpoint's root.

Hashing follows RFC 9162 section 2 byte for byte; the signed note and checkpoint follow
C2SP signed-note and tlog-checkpoint.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "accord-bundle/1"
HASH_SIZE = 32
ALG_ED25519 = b"\x01"
EM_DASH = "\u2014"


class VerifyError(ValueError):
    """Verification failed; the message says what and where."""


# --- RFC 9162 section 2 -------------------------------------------------------------------


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> None:
    """RFC 9162 2.1.3.2. Raises VerifyError unless `proof` puts `leaf` at `index` under `root`."""
    if len(leaf) != HASH_SIZE or len(root) != HASH_SIZE:
        raise VerifyError("leaf hash and root must be 32-byte SHA-256 values")
    if index >= size or index < 0:
        raise VerifyError(f"leaf index {index} is not below tree size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise VerifyError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerifyError("inclusion proof is shorter than the tree is deep")
    if r != root:
        raise VerifyError("inclusion proof does not lead to the root")


def verify_consistency(
    old: int, new: int, proof: list[bytes], old_root: bytes, new_root: bytes
) -> None:
    """RFC 9162 2.1.4.2. Raises VerifyError unless the tree of `new_root` extends `old_root`."""
    if new < old:
        raise VerifyError(f"new size {new} is smaller than old size {old}")
    if old < 1:
        raise VerifyError("a consistency proof from the empty tree proves nothing")
    if old == new:
        if proof:
            raise VerifyError("equal sizes take an empty proof")
        if old_root != new_root:
            raise VerifyError("equal sizes but different roots")
        return
    if not proof:
        raise VerifyError("empty consistency proof")
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise VerifyError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerifyError("consistency proof is too short")
    if fr != old_root:
        raise VerifyError("consistency proof does not lead to the old root")
    if sr != new_root:
        raise VerifyError("consistency proof does not lead to the new root")


# --- C2SP signed notes and checkpoints ----------------------------------------------------


def key_hash(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ALG_ED25519 + public).digest()[:4]


@dataclass(frozen=True)
class NoteKey:
    """A verifier key: <name>+<hex key hash>+<base64(0x01 || Ed25519 public key)>."""

    name: str
    public: bytes

    @classmethod
    def parse(cls, vkey: str) -> NoteKey:
        try:
            name, hex_hash, b64 = vkey.strip().split("+", 2)
            raw = base64.b64decode(b64, validate=True)
        except ValueError as exc:
            raise VerifyError(f"not a verifier key: {exc}") from exc
        if raw[:1] != ALG_ED25519 or len(raw) != 33:
            raise VerifyError("verifier key is not an Ed25519 key")
        if key_hash(name, raw[1:]).hex() != hex_hash:
            raise VerifyError("verifier key hash does not match its name and key")
        return cls(name, raw[1:])

    def open(self, note: str) -> str:
        """The note's text if it carries a valid signature by this key.

        Strict, so that a note has one exact form: lines end in "\n" only, every signature
        line is well formed, and signatures are canonical base64 (no other padding bits).
        """
        text, sep, sigs = note.rpartition("\n\n")
        if not sep or not sigs.endswith("\n"):
            raise VerifyError("signed note has no signature block")
        text += "\n"
        want = key_hash(self.name, self.public)
        found = False
        for line in sigs[:-1].split("\n"):
            parts = line.split(" ")
            if len(parts) != 3 or parts[0] != EM_DASH or not parts[1] or not parts[2]:
                raise VerifyError(f"malformed signature line {line!r}")
            blob = _canonical_b64(parts[2], "signature")
            if parts[1] != self.name or blob[:4] != want or len(blob) != 68:
                continue  # another signer's line: allowed, not ours to check
            try:
                Ed25519PublicKey.from_public_bytes(self.public).verify(blob[4:], text.encode())
            except InvalidSignature as exc:
                raise VerifyError("checkpoint signature does not verify") from exc
            found = True
        if not found:
            raise VerifyError(f"no signature by {self.name}")
        return text


def _canonical_b64(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise VerifyError(f"{what} is not base64") from exc
    if base64.b64encode(raw).decode() != text:
        raise VerifyError(f"{what} is not in canonical base64")
    return raw


def parse_checkpoint(text: str) -> tuple[str, int, bytes]:
    """(origin, tree size, root hash) of a C2SP tlog-checkpoint body."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise VerifyError("checkpoint must have origin, size and root lines")
    origin, size_s, root_b64 = lines[0], lines[1], lines[2]
    if not size_s.isdigit() or (size_s != "0" and size_s.startswith("0")):
        raise VerifyError("checkpoint size is not a decimal number")
    root = _canonical_b64(root_b64, "checkpoint root")
    if len(root) != HASH_SIZE:
        raise VerifyError("checkpoint root is not 32 bytes")
    return origin, int(size_s), root


# --- bundles ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verified:
    origin: str
    tree_size: int
    root: bytes
    entries: list[dict[str, Any]]


def verify_bundle(bundle: dict[str, Any], key: str) -> Verified:
    """Check a bundle against a trusted verifier key; return the entries it proves."""
    if bundle.get("format") != FORMAT:
        raise VerifyError(
            f"not an Accord bundle (format {bundle.get('format')!r}, expected {FORMAT})"
        )
    note_key = NoteKey.parse(key)
    text = note_key.open(str(bundle.get("checkpoint", "")))
    origin, size, root = parse_checkpoint(text)
    if origin != note_key.name:
        raise VerifyError(f"checkpoint is for log {origin!r}, the key is for {note_key.name!r}")
    entries = []
    for i, item in enumerate(bundle.get("entries", [])):
        try:
            seq = int(item["seq"])
            raw = base64.b64decode(item["entry"], validate=True)
            proof = [base64.b64decode(p, validate=True) for p in item["proof"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise VerifyError(f"bundle entry {i} is malformed: {exc}") from exc
        try:
            verify_inclusion(leaf_hash(raw), seq, size, proof, root)
        except VerifyError as exc:
            raise VerifyError(f"journal entry {seq}: {exc}") from exc
        try:
            entry = json.loads(raw)
        except ValueError as exc:
            raise VerifyError(f"journal entry {seq}: not JSON") from exc
        if entry.get("seq") != seq:
            raise VerifyError(f"journal entry {seq}: says it is entry {entry.get('seq')}")
        entries.append(entry)
    return Verified(origin, size, root, entries)


# --- evidence packs -----------------------------------------------------------------------

PACK_FORMAT = "accord-evidence-pack/1"
PACK_MARKER = b"\n%%ACCORD-PACK "


@dataclass(frozen=True)
class VerifiedPack:
    """What a pack proved: the offer, the PDF's digest, both checkpoints' sizes, the
    entries about the offer (against the first) and the pack's own entry (the second)."""

    origin: str
    offer_id: str
    pdf_sha256: str
    sizes: tuple[int, int]
    entries: list[dict[str, Any]]
    pack_entry: dict[str, Any]
    blobs: int
    checks: list[str]


def split_pack(data: bytes) -> tuple[bytes, dict[str, Any]]:
    """The PDF bytes and the manifest of a pack file. The trailer must be the file's last
    line, exactly: marker, canonical base64 of the manifest, one newline, nothing after."""
    at = data.rfind(PACK_MARKER)
    if at < 0:
        raise VerifyError("no %%ACCORD-PACK trailer: not an Accord evidence pack")
    tail = data[at + len(PACK_MARKER) :]
    if not tail.endswith(b"\n") or b"\n" in tail[:-1]:
        raise VerifyError("the %%ACCORD-PACK trailer is not the file's last line")
    try:
        text = tail[:-1].decode("ascii")
    except UnicodeDecodeError as exc:
        raise VerifyError("the pack's manifest is not base64") from exc
    raw = _canonical_b64(text, "the pack's manifest")
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        raise VerifyError("the pack's manifest is not JSON") from exc
    if not isinstance(manifest, dict):
        raise VerifyError("the pack's manifest is not a JSON object")
    if raw != _canonical_json(manifest):
        raise VerifyError("the pack's manifest is not in canonical form")
    pdf = data[:at]
    if not pdf.startswith(b"%PDF-"):
        raise VerifyError("the pack does not start with a PDF")
    return pdf, manifest


def _hex(text: Any, what: str) -> bytes:
    try:
        raw = bytes.fromhex(text)
    except (TypeError, ValueError) as exc:
        raise VerifyError(f"{what} is not hex") from exc
    if raw.hex() != text:
        raise VerifyError(f"{what} is not in lower-case hex")
    return raw


def _canonical_json(obj: Any) -> bytes:
    """The manifest's one form: sorted keys, no spaces, UTF-8 (its values are ASCII and
    integers, where this equals RFC 8785)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _proven(item: Any, size: int, root: bytes, what: str) -> tuple[dict[str, Any], bytes]:
    try:
        seq = int(item["seq"])
        raw = _canonical_b64(item["entry"], f"{what}: entry")
        proof = [_canonical_b64(p, f"{what}: proof") for p in item["proof"]]
    except (KeyError, TypeError) as exc:
        raise VerifyError(f"{what} is malformed: {exc}") from exc
    try:
        verify_inclusion(leaf_hash(raw), seq, size, proof, root)
    except VerifyError as exc:
        raise VerifyError(f"{what} (journal entry {seq}): {exc}") from exc
    try:
        entry = json.loads(raw)
    except ValueError as exc:
        raise VerifyError(f"{what} (journal entry {seq}): not JSON") from exc
    if not isinstance(entry, dict) or entry.get("seq") != seq:
        raise VerifyError(f"{what}: entry {seq} says it is another entry")
    if not isinstance(entry.get("data"), dict):
        raise VerifyError(f"{what}: entry {seq} has no data")
    return entry, raw


def _checkpoint(note_key: NoteKey, note: Any, which: str) -> tuple[int, bytes]:
    if not isinstance(note, str):
        raise VerifyError(f"checkpoint {which} is missing")
    try:
        origin, size, root = parse_checkpoint(note_key.open(note))
    except VerifyError as exc:
        raise VerifyError(f"checkpoint {which}: {exc}") from exc
    if origin != note_key.name:
        raise VerifyError(f"checkpoint {which} is for log {origin!r}, the key is {note_key.name!r}")
    return size, root


def _offers_entries(offer_id: str, entries: list[dict[str, Any]]) -> None:
    """The entries are this offer's: the offer itself, its journey, its terms version and
    document, the customer version it pinned and the contacts it names; nothing else."""
    offers = [e for e in entries if e.get("type") == "offer"]
    if not offers or any(e.get("id") != offer_id for e in offers):
        raise VerifyError(f"the pack's entries do not hold offer {offer_id} alone")
    made = min(offers, key=lambda e: int(e["seq"]))["data"]
    terms_id, customer_id = made.get("terms_version_id"), made.get("customer_id")
    customer_seq, contacts = made.get("customer_seq"), {made.get("contact_id")}
    # Who decided: the outcome step's contact (before Accord 0011, the offer's PATCH said).
    contacts |= {e["data"].get("decided_by") for e in offers}
    contacts |= {
        e["data"].get("contact")
        for e in entries
        if e.get("type") == "journey_event" and e["data"].get("offer_id") == offer_id
    }
    seen = {"terms_version": False, "customer": False}
    document_id = None
    for e in entries:
        kind, seq, data = e.get("type"), e["seq"], e["data"]
        if kind == "terms_version" and e.get("id") == terms_id:
            seen["terms_version"] = True
            document_id = data.get("document_id")
    for e in entries:
        kind, seq, data = e.get("type"), e["seq"], e["data"]
        ok = (
            kind == "offer"
            or (kind == "journey_event" and data.get("offer_id") == offer_id)
            or (kind == "terms_version" and e.get("id") == terms_id)
            or (kind == "terms_document" and document_id and e.get("id") == document_id)
            or (kind == "customer" and e.get("id") == customer_id and seq == customer_seq)
            or (kind == "contact" and e.get("id") in contacts)
        )
        if not ok:
            raise VerifyError(
                f"journal entry {seq} ({kind} {e.get('id')}) is not offer {offer_id}'s"
            )
        if kind == "customer":
            seen["customer"] = True
    for what, found in seen.items():
        if not found:
            raise VerifyError(f"the pack lacks the offer's {what.replace('_', ' ')} entry")


def verify_pack(data: bytes, key_line: str) -> VerifiedPack:
    """Check an evidence pack file against a trusted verifier key: both checkpoints'
    signatures, the consistency of the second with the first, every entry's inclusion, that
    the pack's own entry names this offer and this PDF's SHA-256, and every blob's bytes."""
    note_key = NoteKey.parse(key_line)
    pdf, m = split_pack(data)
    checks = [f"trailer and manifest well formed; PDF of {len(pdf):,} bytes"]
    if m.get("format") != PACK_FORMAT:
        raise VerifyError(f"not an Accord evidence pack (format {m.get('format')!r})")
    offer_id, pdf_sha256 = m.get("offer_id"), m.get("pdf_sha256")
    if not isinstance(offer_id, str) or not isinstance(pdf_sha256, str):
        raise VerifyError("the manifest names no offer or PDF digest")
    notes = m.get("checkpoints")
    if not isinstance(notes, list) or len(notes) != 2:
        raise VerifyError("the manifest must hold two checkpoints")
    size1, root1 = _checkpoint(note_key, notes[0], "1")
    size2, root2 = _checkpoint(note_key, notes[1], "2")
    checks.append(f"checkpoints at sizes {size1} and {size2} signed by {note_key.name}")
    try:
        consistency = [_hex(p, "consistency proof") for p in m.get("consistency", [])]
        verify_consistency(size1, size2, consistency, root1, root2)
    except (TypeError, VerifyError) as exc:
        raise VerifyError(f"consistency of checkpoint 2 with checkpoint 1: {exc}") from exc
    checks.append(f"checkpoint {size2} extends checkpoint {size1} (consistency proof)")
    items = m.get("entries")
    if not isinstance(items, list) or not items:
        raise VerifyError("the manifest holds no entries")
    entries: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        entry, _ = _proven(item, size1, root1, f"entries[{i}]")
        entries.append(entry)
    if len({e["seq"] for e in entries}) != len(entries):
        raise VerifyError("an entry is in the pack twice")
    checks.append(f"{len(entries)} entries included in checkpoint {size1}")
    _offers_entries(offer_id, entries)
    checks.append(f"the entries are offer {offer_id}'s")
    pack, _ = _proven(m.get("pack_entry"), size2, root2, "pack_entry")
    pd = pack["data"]
    if pack.get("type") != "evidence_pack" or pd.get("offer_id") != offer_id:
        raise VerifyError(f"the pack's own entry {pack['seq']} is not a pack of offer {offer_id}")
    digest = hashlib.sha256(pdf).hexdigest()
    if digest != pdf_sha256 or pd.get("pdf_sha256") != digest:
        raise VerifyError("the PDF's SHA-256 is not the one the pack's journal entry records")
    if pd.get("size") != len(pdf) or pd.get("checkpoint_size") != size1:
        raise VerifyError("the pack's journal entry records another size or checkpoint")
    checks.append(f"pack entry {pack['seq']} records this PDF (SHA-256 {digest})")
    blobs = m.get("blobs")
    if not isinstance(blobs, dict):
        raise VerifyError("the manifest's blobs are missing")
    for name, b64 in blobs.items():
        raw = _canonical_b64(b64, f"blob {name}") if isinstance(b64, str) else None
        if raw is None or hashlib.sha256(raw).hexdigest() != name:
            raise VerifyError(f"blob {name}: its bytes do not hash to its name")
    wanted = {e["data"]["blob"] for e in entries if isinstance(e["data"].get("blob"), str)}
    missing = sorted(wanted - set(blobs))
    if missing:
        raise VerifyError(f"blob {missing[0]} named by the entries is not in the pack")
    if set(blobs) - wanted:
        raise VerifyError("the pack holds a blob no entry names")
    checks.append(f"{len(blobs)} blobs (terms, screens) match their SHA-256")
    return VerifiedPack(
        note_key.name, offer_id, digest, (size1, size2), entries, pack, len(blobs), checks
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["pack"]:
        return _main_pack(argv[1:])
    parser = argparse.ArgumentParser(
        description="Verify an Accord bundle offline (or an evidence pack: `pack FILE --key`)."
    )
    parser.add_argument("bundle", help="bundle JSON file")
    parser.add_argument(
        "--key", required=True, help="the log's verifier key line (from the provider)"
    )
    args = parser.parse_args(argv)
    try:
        with open(args.bundle, encoding="utf-8") as f:
            bundle = json.load(f)
        result = verify_bundle(bundle, args.key)
    except (OSError, ValueError) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"OK: {len(result.entries)} entries proven in {result.origin} at size {result.tree_size}")
    return 0


def _main_pack(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="verifier.py pack", description="Verify an Accord evidence pack offline."
    )
    parser.add_argument("pack", help="the evidence pack (a PDF with its trailer)")
    parser.add_argument(
        "--key", required=True, help="the log's verifier key line (from the provider)"
    )
    args = parser.parse_args(argv)
    try:
        with open(args.pack, "rb") as f:
            result = verify_pack(f.read(), args.key)
    except (OSError, ValueError) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    for line in result.checks:
        print(f"ok  {line}")
    print("verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
