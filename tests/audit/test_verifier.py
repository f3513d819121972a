"""The standalone verifier checks exported bundles offline, and depends on nothing of Accord."""

from __future__ import annotations

import ast
import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

import accord.verifier as verifier_module
from accord.access import Actor
from accord.audit import queries as audit
from accord.parties import service
from accord.parties.schemas import CustomerCreate, CustomerUpdate
from accord.store.checkpoints import Signer, load_key
from accord.store.db import Database
from accord.verifier import VerifyError, verify_bundle


def _bundle_for_customer(db: Database, alice: Actor, key_dir: Path) -> dict[str, object]:
    with db.unit_of_work() as s:
        cid = service.create_customer(
            s, actor=alice, data=CustomerCreate(name="Tailspin Toys", code="TST")
        )
    with db.unit_of_work() as s:
        service.change_customer(
            s, actor=alice, customer_id=cid, data=CustomerUpdate(phone="+44 1632 960000")
        )
    with db.unit_of_work() as s:
        seqs = audit.entity_seqs(s, actor=alice, entity_ids=[cid])
        return audit.bundle(s, actor=alice, seqs=seqs, key_dir=key_dir)


def test_bundle_verifies_offline(
    db: Database, alice: Actor, key_dir: Path, northwind: tuple[object, Actor, Signer]
) -> None:
    b = _bundle_for_customer(db, alice, key_dir)
    result = verify_bundle(b, northwind[2].verifier_key())
    assert [e["kind"] for e in result.entries] == [
        "parties.customer.created",
        "parties.customer.changed",
    ]
    assert result.entries[1]["data"] == {"phone": "+44 1632 960000"}


def test_one_changed_byte_fails(
    db: Database, alice: Actor, key_dir: Path, northwind: tuple[object, Actor, Signer]
) -> None:
    b = _bundle_for_customer(db, alice, key_dir)
    entries = b["entries"]
    assert isinstance(entries, list)
    raw = bytearray(base64.b64decode(entries[0]["entry"]))
    raw[raw.index(b"Tailspin")] ^= 0x01
    entries[0]["entry"] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(VerifyError, match="journal entry"):
        verify_bundle(b, northwind[2].verifier_key())


def test_wrong_key_or_forged_checkpoint_fails(
    db: Database,
    alice: Actor,
    key_dir: Path,
    mallory: Actor,
    northwind: tuple[object, Actor, Signer],
) -> None:
    b = _bundle_for_customer(db, alice, key_dir)
    contoso_key = load_key(key_dir, "contoso").verifier_key()
    with pytest.raises(VerifyError):
        verify_bundle(b, contoso_key)
    note = str(b["checkpoint"])
    b["checkpoint"] = (
        note.replace("\n", "\n", 1)[:-5] + ("A" if note[-5] != "A" else "B") + note[-4:]
    )
    with pytest.raises(VerifyError):
        verify_bundle(b, northwind[2].verifier_key())


def test_command_line(
    db: Database,
    alice: Actor,
    key_dir: Path,
    tmp_path: Path,
    northwind: tuple[object, Actor, Signer],
) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(_bundle_for_customer(db, alice, key_dir)))
    ok = subprocess.run(
        [sys.executable, verifier_module.__file__, str(path), "--key", northwind[2].verifier_key()],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert "OK: 2 entries" in ok.stdout


def test_depends_only_on_stdlib_and_cryptography() -> None:
    tree = ast.parse(Path(verifier_module.__file__).read_text())
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    assert roots - set(sys.stdlib_module_names) - {"__future__"} == {"cryptography"}


def test_key_lines_whose_base64_holds_a_plus_sign_parse(tmp_path: Path) -> None:
    """Base64 uses '+': key lines split only at their first separators, as Go's note
    package does."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from accord.store.checkpoints import Verifier

    for _ in range(200):
        signer = Signer("accord.test/plus", Ed25519PrivateKey.generate())
        if "+" in signer.verifier_key().split("+", 2)[2]:
            break
    else:
        pytest.fail("no key with '+' in its base64 in 200 tries")
    note = signer.sign("accord.test/plus\n1\n" + base64.b64encode(bytes(32)).decode() + "\n")
    assert Verifier.parse(signer.verifier_key()).open(note).startswith("accord.test/plus\n")
    assert (
        verifier_module.NoteKey.parse(signer.verifier_key())
        .open(note)
        .startswith("accord.test/plus\n")
    )


def test_the_store_checks_proofs_and_notes_with_the_standalone_code() -> None:
    """The RFC 9162 vectors (tests/store/test_merkle_vectors.py) run through merkle's
    functions; these being the verifier's own keeps the offline verifier under them too."""
    from accord.store import checkpoints, merkle

    assert merkle.verify_inclusion is verifier_module.verify_inclusion
    assert merkle.verify_consistency is verifier_module.verify_consistency
    assert merkle.leaf_hash is verifier_module.leaf_hash
    assert checkpoints.Verifier is verifier_module.NoteKey
