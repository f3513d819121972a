"""Proofs read from the database agree with a brute-force tree over all leaf hashes."""

from __future__ import annotations

import pytest

from accord.store import journal, merkle, temporal
from accord.store.journal import Entry, Op
from tests.store.helpers import Log, customer, leaf_hashes, new_id

SIZE = 41


@pytest.fixture
def built(log: Log) -> tuple[Log, list[Entry]]:
    """A log of SIZE entries, some recorded one per change and some several per change."""
    ids = [new_id() for _ in range(5)]
    entries: list[Entry] = []
    entries += log.write(*(customer(i, name=f"Customer {n}") for n, i in enumerate(ids)))
    n = len(entries)
    while n < SIZE:
        group = min(1 + n % 3, SIZE - n)
        entries += log.write(
            *(customer(ids[(n + k) % 5], Op.PATCH, notes=f"note {n + k}") for k in range(group))
        )
        n += group
    assert [e.seq for e in entries] == list(range(SIZE))
    return log, entries


def test_entries_are_stored_canonically(built: tuple[Log, list[Entry]]) -> None:
    log, entries = built
    with log.db.reading() as s:
        assert journal.tree_size(s, log.tenant_id) == SIZE
        for e in entries:
            found = journal.read_entry(s, log.tenant_id, e.seq)
            assert found is not None
            stored, raw, leaf = found
            assert raw == journal.canonical(e.to_json()) == e.canonical()
            assert leaf == merkle.leaf_hash(raw)
            assert stored == e
        assert journal.read_entry(s, log.tenant_id, SIZE) is None
        first = entries[0].id
        assert temporal.entries_for(s, log.tenant_id, first) == [
            e for e in entries if e.id == first
        ]


def test_roots_and_inclusion_proofs_for_every_leaf_and_size(built: tuple[Log, list[Entry]]) -> None:
    log, _ = built
    leaves = leaf_hashes(log.db, log.tenant_id)
    assert len(leaves) == SIZE
    with log.db.reading() as s:
        assert journal.root_at(s, log.tenant_id, 0) == merkle.EMPTY_ROOT
        for size in range(1, SIZE + 1):
            root = merkle.root_of(leaves[:size])
            assert journal.root_at(s, log.tenant_id, size) == root
            for index in range(size):
                proof = journal.inclusion_proof(s, log.tenant_id, index, size)
                merkle.verify_inclusion(leaves[index], index, size, proof, root)
                if size > 1:
                    # The same proof must not place a neighbour's leaf there.
                    other = leaves[(index + 1) % size]
                    with pytest.raises(merkle.ProofError):
                        merkle.verify_inclusion(other, index, size, proof, root)


def test_consistency_proofs_for_every_pair_of_sizes(built: tuple[Log, list[Entry]]) -> None:
    log, _ = built
    leaves = leaf_hashes(log.db, log.tenant_id)
    roots = [merkle.root_of(leaves[:n]) for n in range(SIZE + 1)]
    with log.db.reading() as s:
        for old in range(1, SIZE + 1):
            for new in range(old, SIZE + 1):
                proof = journal.consistency_proof(s, log.tenant_id, old, new)
                merkle.verify_consistency(old, new, proof, roots[old], roots[new])
                if old < new and old > 1:
                    with pytest.raises(merkle.ProofError):
                        merkle.verify_consistency(old, new, proof, roots[old - 1], roots[new])


def test_fetch_nodes_reads_leaves_and_inner_nodes(built: tuple[Log, list[Entry]]) -> None:
    log, _ = built
    leaves = leaf_hashes(log.db, log.tenant_id)
    with log.db.reading() as s:
        got = journal.fetch_nodes(s, log.tenant_id, [(0, 3), (1, 2), (5, 0), (3, 4)])
        assert got[(0, 3)] == leaves[3]
        assert got[(1, 2)] == merkle.root_of(leaves[4:6])
        assert got[(5, 0)] == merkle.root_of(leaves[:32])
        assert got[(3, 4)] == merkle.root_of(leaves[32:40])
        assert journal.fetch_nodes(s, log.tenant_id, []) == {}
        with pytest.raises(LookupError):
            journal.fetch_nodes(s, log.tenant_id, [(3, 5)])  # leaves 40-47: not complete yet
        with pytest.raises(LookupError):
            journal.root_at(s, log.tenant_id, SIZE + 1)


def test_proof_requests_outside_the_tree_are_refused(built: tuple[Log, list[Entry]]) -> None:
    log, _ = built
    with log.db.reading() as s:
        with pytest.raises(merkle.ProofError):
            journal.inclusion_proof(s, log.tenant_id, SIZE, SIZE)
        with pytest.raises(merkle.ProofError):
            journal.consistency_proof(s, log.tenant_id, 5, 4)
        assert journal.consistency_proof(s, log.tenant_id, 7, 7) == []
