"""Signed checkpoints: C2SP notes that verify with the log's key and nothing else."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from accord.store import journal, merkle, verify
from accord.store.checkpoints import (
    EM_DASH,
    NoteError,
    Signer,
    Verifier,
    checkpoint_text,
    parse_checkpoint,
)
from tests.store.helpers import Log, build_log, leaf_hashes


def test_checkpoint_note_parses_and_verifies(log: Log) -> None:
    build_log(log, 11)
    cp = log.checkpoint()
    leaves = leaf_hashes(log.db, log.tenant_id)
    assert (cp.size, cp.root) == (11, merkle.root_of(leaves))

    body, _, sig = cp.note.rpartition("\n\n")
    assert body + "\n" == checkpoint_text(log.signer.name, 11, cp.root)
    assert sig.startswith(f"{EM_DASH} {log.signer.name} ") and sig.endswith("\n")
    blob = base64.b64decode(sig.split(" ")[2])
    assert len(blob) == 4 + 64  # key hash, Ed25519 signature

    text = log.verifier.open(cp.note)
    assert parse_checkpoint(text) == (log.signer.name, 11, cp.root)


def test_signing_again_without_new_entries_returns_the_same_checkpoint(log: Log) -> None:
    build_log(log, 3)
    first = log.checkpoint()
    again = log.checkpoint()
    assert (again.size, again.note) == (first.size, first.note)
    build_log(log, 2)
    later = log.checkpoint()
    assert later.size == 5
    with log.db.reading() as s:
        assert journal.latest_checkpoint(s, log.tenant_id) is not None
        proof = journal.consistency_proof(s, log.tenant_id, 3, 5)
    merkle.verify_consistency(3, 5, proof, first.root, later.root)


def test_another_key_does_not_verify(log: Log) -> None:
    build_log(log, 4)
    cp = log.checkpoint()
    same_name = Signer(log.signer.name, Ed25519PrivateKey.generate())
    other_name = Signer("accord.test/other", Ed25519PrivateKey.generate())
    for signer in (same_name, other_name):
        with pytest.raises(NoteError):
            Verifier.parse(signer.verifier_key()).open(cp.note)


@pytest.mark.parametrize("where", ["origin", "size", "root", "signature", "key name"])
def test_one_changed_byte_fails(log: Log, where: str) -> None:
    build_log(log, 6)
    note = log.checkpoint().note
    lines = note.split("\n")
    # note: origin, size, root, "", signature line, ""
    line, column = {
        "origin": (0, 3),
        "size": (1, 0),
        "root": (2, 5),
        "signature": (4, -3),
        "key name": (4, 4),
    }[where]
    chars = list(lines[line])
    chars[column] = "7" if chars[column] != "7" else "8"
    lines[line] = "".join(chars)
    tampered = "\n".join(lines)
    assert tampered != note and len(tampered) == len(note)
    with pytest.raises(NoteError):
        log.verifier.open(tampered)


def one_bit_changes(note: str) -> Iterator[tuple[int, str]]:
    raw = note.encode()
    for i in range(len(raw)):
        changed = bytearray(raw)
        changed[i] ^= 0x01
        try:
            yield i, changed.decode()
        except UnicodeDecodeError:
            continue  # not text any more, so not a note


def test_every_one_bit_change_of_a_note_fails_the_log_check() -> None:
    """Exhaustively: any bit flipped anywhere in a stored note fails `accord verify`'s check."""
    signer = Signer("accord.test/acme", Ed25519PrivateKey.generate())
    verifier = Verifier.parse(signer.verifier_key())
    note = signer.sign(checkpoint_text(signer.name, 2, merkle.leaf_hash(b"x")))
    assert verify.open_checkpoint(verifier, note) == (signer.name, 2, merkle.leaf_hash(b"x"))
    for i, text in one_bit_changes(note):
        with pytest.raises(NoteError):
            verify.open_checkpoint(verifier, text)
            raise AssertionError(f"byte {i} changed and the note still verifies")


def test_every_one_bit_change_of_a_note_fails_to_open() -> None:
    signer = Signer("accord.test/acme", Ed25519PrivateKey.generate())
    verifier = Verifier.parse(signer.verifier_key())
    note = signer.sign(checkpoint_text(signer.name, 2, merkle.leaf_hash(b"x")))
    accepted = []
    for i, text in one_bit_changes(note):
        try:
            verifier.open(text)
            accepted.append(i)
        except NoteError:
            pass
    assert accepted == []


def test_empty_log_checkpoint(log: Log) -> None:
    cp = log.checkpoint()
    assert (cp.size, cp.root) == (0, merkle.EMPTY_ROOT)
    assert parse_checkpoint(log.verifier.open(cp.note))[1:] == (0, merkle.EMPTY_ROOT)
