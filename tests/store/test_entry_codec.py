"""Journal entries kept compressed against a tenant's trained dictionary (`entry_codec`).

What is stored changes; what anyone reads, hashes, proves or verifies does not: the
canonical bytes. The thresholds are lowered so a log of a few hundred entries trains
(and retrains) as a long one would.
"""

from __future__ import annotations

import base64
import contextlib
from typing import Any

import pytest
from sqlalchemy import select, text

from accord.store import entry_codec, journal, merkle
from accord.store.entry_codec import JournalDictionary
from accord.store.journal import JournalEntry, LogHead
from accord.store.verify import VerificationError, rebuild_check, verify_log
from accord.verifier import verify_bundle
from tests.store.helpers import Log, build_log, new_id

TRAIN_AT = 200


@pytest.fixture(autouse=True)
def small_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(entry_codec, "TRAIN_AT", TRAIN_AT)
    monkeypatch.setattr(entry_codec, "RETRAIN", 2)
    monkeypatch.setattr(entry_codec, "DICT_BYTES", 2048)


def stored(log: Log) -> list[Any]:
    with log.db.engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT seq, entry, leaf_hash, dictionary_id FROM journal_entries "
                    "WHERE tenant_id = :t ORDER BY seq"
                ),
                {"t": log.tenant_id},
            )
        )


def test_entries_are_compressed_once_the_log_is_long_enough(log: Log) -> None:
    build_log(log, TRAIN_AT - 1)
    assert all(r.dictionary_id is None for r in stored(log))
    build_log(log, 150)  # crosses TRAIN_AT: this change trains and is compressed
    rows = stored(log)
    plain = [r for r in rows if r.dictionary_id is None]
    packed = [r for r in rows if r.dictionary_id is not None]
    assert len(plain) < TRAIN_AT and len(packed) >= 150
    with log.db.reading() as s:
        head = s.get(LogHead, log.tenant_id)
        assert head is not None and head.dictionary_id == packed[-1].dictionary_id
        read = dict(journal.raw_entries_at(s, log.tenant_id, [r.seq for r in rows]))
    for r in packed:
        raw = read[r.seq]
        assert raw.startswith(b'{"actor":') and bytes(r.entry) != raw
        assert merkle.leaf_hash(raw) == bytes(r.leaf_hash)  # leaves hash the canonical bytes
    # and it is worth it: a third or less of the canonical bytes
    assert sum(len(r.entry) for r in packed) * 3 < sum(len(read[r.seq]) for r in packed)


def test_retrains_as_the_log_grows(log: Log) -> None:
    build_log(log, TRAIN_AT + 10)
    build_log(log, TRAIN_AT + 10)  # past twice the size of the first training
    with log.db.reading() as s:
        trained = s.scalars(
            select(JournalDictionary.trained_at_size)
            .where(JournalDictionary.tenant_id == log.tenant_id)
            .order_by(JournalDictionary.trained_at_size)
        ).all()
    assert len(trained) == 2 and trained[1] >= 2 * trained[0]
    assert len({r.dictionary_id for r in stored(log) if r.dictionary_id is not None}) == 2


def test_verify_rebuild_and_offline_proofs_see_canonical_bytes(log: Log) -> None:
    build_log(log, TRAIN_AT + 40)
    cp = log.checkpoint()
    last = cp.size - 1
    with log.db.reading() as s:
        report = verify_log(s, log.tenant, log.verifier)
        rebuilt = rebuild_check(s, log.tenant)
        found = journal.read_entry(s, log.tenant_id, last)
        assert found is not None
        entry, raw, leaf = found
        proof = journal.inclusion_proof(s, log.tenant_id, last, cp.size)
    assert report.entries == rebuilt.entries == cp.size
    assert entry.seq == last and merkle.leaf_hash(raw) == leaf
    b64 = base64.b64encode
    bundle = {
        "format": "accord-bundle/1",
        "checkpoint": cp.note,
        "entries": [
            {"seq": last, "entry": b64(raw).decode(), "proof": [b64(p).decode() for p in proof]}
        ],
    }
    assert len(verify_bundle(bundle, log.signer.verifier_key()).entries) == 1


def test_a_changed_compressed_entry_is_found(log: Log) -> None:
    build_log(log, TRAIN_AT + 20)
    row = stored(log)[-3]
    assert row.dictionary_id is not None
    changed = bytearray(row.entry)
    changed[len(changed) // 2] ^= 0x01
    with log.db.engine.begin() as conn:
        conn.execute(
            text("UPDATE journal_entries SET entry = :e WHERE tenant_id = :t AND seq = :s"),
            {"e": bytes(changed), "t": log.tenant_id, "s": row.seq},
        )
    with log.db.reading() as s, pytest.raises(VerificationError, match=f"journal entry {row.seq}"):
        verify_log(s, log.tenant, log.verifier)


def test_a_changed_dictionary_is_found(log: Log) -> None:
    build_log(log, TRAIN_AT + 20)
    first = next(r for r in stored(log) if r.dictionary_id is not None)
    entry_codec._cache.clear()  # as a fresh process would: it reads the altered row
    with log.db.engine.begin() as conn:
        d = conn.execute(
            text("SELECT dictionary FROM journal_dictionaries WHERE tenant_id = :t"),
            {"t": log.tenant_id},
        ).scalar_one()
        altered = bytes(d[:8]) + bytes(b ^ 0x55 for b in d[8:])  # all but magic and id
        conn.execute(
            text("UPDATE journal_dictionaries SET dictionary = :d WHERE tenant_id = :t"),
            {"d": altered, "t": log.tenant_id},
        )
    with log.db.reading() as s, pytest.raises(VerificationError, match="journal entry"):
        verify_log(s, log.tenant, log.verifier)
    with log.db.reading() as s:  # nor is the altered dictionary remembered as the real one
        entry_codec._cache.clear()
        with contextlib.suppress(entry_codec.zstd.ZstdError):  # undecodable is fine here
            entry_codec.decode(s, log.tenant_id, first.entry, first.dictionary_id)
        assert not any(entry_codec._cache.get(log.db.engine, {}))


def test_a_training_rolled_back_leaves_nothing_behind(log: Log) -> None:
    build_log(log, TRAIN_AT - 1)

    class Boom(Exception):
        pass

    with pytest.raises(Boom), log.db.unit_of_work() as s:
        from accord.store.writes import record
        from tests.store.helpers import customer

        record(s, tenant_id=log.tenant_id, actor="Tess", drafts=[customer(new_id())] * 1)
        raise Boom
    with log.db.reading() as s:
        assert s.scalars(select(JournalDictionary)).first() is None
        head = s.get(LogHead, log.tenant_id)
        assert head is not None and head.dictionary_id is None
    build_log(log, 5)  # trains again, for real this time, and everything reads back
    with log.db.reading() as s:
        seqs = s.scalars(select(JournalEntry.seq).where(JournalEntry.tenant_id == log.tenant_id))
        entries = journal.entries_at(s, log.tenant_id, list(seqs))
    assert [e.seq for e in entries] == list(range(TRAIN_AT + 4))
    with log.db.reading() as s:
        verify_log(s, log.tenant, log.verifier)


def test_a_log_zstd_cannot_learn_from_stays_plain_and_is_not_retrained_each_append(
    log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    tries: list[int] = []
    real = entry_codec.zstd.train_dictionary

    def too_alike(size: int, samples: list[bytes]) -> Any:
        tries.append(len(samples))
        return real(size, samples[:1])  # one sample: zstd refuses to train on it

    monkeypatch.setattr(entry_codec.zstd, "train_dictionary", too_alike)
    build_log(log, TRAIN_AT + 30)
    assert len(tries) == 1  # tried once at TRAIN_AT, not again before the log doubles
    assert all(r.dictionary_id is None for r in stored(log))
    with log.db.reading() as s:
        assert verify_log(s, log.tenant, log.verifier).entries == TRAIN_AT + 30
