"""Tampering with any stored byte is found by `verify_log` or `rebuild_check`, which name it.

Each test changes the database behind the store's back with raw SQL in its own
transaction, as someone with database access would, then runs the checks.
"""

from __future__ import annotations

import base64
import string
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from accord.parties.models import Customer
from accord.store import merkle
from accord.store.checkpoints import checkpoint_text
from accord.store.journal import Frontier, Op
from accord.store.verify import VerificationError, rebuild_check, verify_log
from tests.store.helpers import Log, build_log, counts, customer, leaf_hashes, new_id

SIZE = 20


@pytest.fixture
def full(log: Log) -> Log:
    """20 entries (creations, patches, a retraction), checkpoints at 8, 13 and 20."""
    build_log(log, 8)
    log.checkpoint()
    build_log(log, 4)
    gone = new_id()
    log.write(customer(gone, name="Short-lived"))
    log.checkpoint()
    log.write(customer(gone, Op.END))
    build_log(log, 6)
    log.checkpoint()
    return log


def sql(log: Log, statement: str, **params: Any) -> None:
    """Change the database directly, in its own committed transaction."""
    with log.db.engine.begin() as conn:
        result = conn.execute(text(statement), {"t": log.tenant_id, **params})
        assert result.rowcount != 0, statement


def one(log: Log, query: str, **params: Any) -> Any:
    with log.db.engine.connect() as conn:
        return conn.execute(text(query), {"t": log.tenant_id, **params}).one()


def flip(value: bytes, at: int) -> bytes:
    changed = bytearray(value)
    changed[at] ^= 0x20
    return bytes(changed)


#: (jobs, page_level): one page in this process; pages of 4 entries checked by two worker
#: processes (faults in different pages, nodes above the page level); pages of 8 here.
MODES = [(1, 12), (2, 2), (1, 3)]


def fails(log: Log, pattern: str, *, check_with: str = "verify") -> str:
    """The check's message, which must match `pattern`; verify_log's in every mode."""
    messages = set()
    for jobs, page_level in MODES if check_with == "verify" else [(1, 12)]:
        with log.db.reading() as s, pytest.raises(VerificationError, match=pattern) as err:
            if check_with == "verify":
                verify_log(s, log.tenant, log.verifier, jobs=jobs, page_level=page_level)
            else:
                rebuild_check(s, log.tenant)
        messages.add(str(err.value))
    assert len(messages) == 1, messages
    return messages.pop()


@pytest.mark.parametrize("jobs, page_level", MODES)
def test_untouched_log_passes(full: Log, jobs: int, page_level: int) -> None:
    with full.db.reading() as s:
        report = verify_log(s, full.tenant, full.verifier, jobs=jobs, page_level=page_level)
        rebuilt = rebuild_check(s, full.tenant)
    assert (report.entries, report.checkpoints) == (SIZE, 3)
    assert report.nodes == 1  # the stored complete subtrees over 20 leaves: level 4, index 0
    assert report.entry_bytes > SIZE * 200
    assert rebuilt.entries == SIZE
    assert rebuilt.rows == counts(full.db, full.tenant_id)["customers"] == SIZE - 1  # END adds none


# --- the journal ---------------------------------------------------------------------------


def test_changed_entry_byte(full: Log) -> None:
    raw = one(full, "SELECT entry FROM journal_entries WHERE tenant_id = :t AND seq = 5")[0]
    at = bytes(raw).index(b'"kind"') + 3
    sql(
        full,
        "UPDATE journal_entries SET entry = :e WHERE tenant_id = :t AND seq = 5",
        e=flip(bytes(raw), at),
    )
    fails(full, r"^journal entry 5: leaf hash does not match the entry bytes")


def test_changed_leaf_hash(full: Log) -> None:
    leaf = one(full, "SELECT leaf_hash FROM journal_entries WHERE tenant_id = :t AND seq = 11")[0]
    sql(
        full,
        "UPDATE journal_entries SET leaf_hash = :h WHERE tenant_id = :t AND seq = 11",
        h=flip(bytes(leaf), 31),
    )
    fails(full, r"^journal entry 11: leaf hash does not match the entry bytes")


def forge(log: Log, seq: int) -> None:
    """Change entry `seq` into another valid entry (another actor), with its leaf hash."""
    raw = bytes(
        one(log, "SELECT entry FROM journal_entries WHERE tenant_id = :t AND seq = :s", s=seq)[0]
    )
    forged = raw.replace(b'"actor":"Tess', b'"actor":"Mall')
    assert forged != raw
    sql(
        log,
        "UPDATE journal_entries SET entry = :e, leaf_hash = :h WHERE tenant_id = :t AND seq = :s",
        e=forged,
        h=merkle.leaf_hash(forged),
        s=seq,
    )


def test_changed_entry_under_a_stored_node(full: Log) -> None:
    """Consistent leaf, but the tree above it no longer matches."""
    forge(full, 6)
    fails(full, r"^tree node level 4 index 0 \(journal entries 0 to 15\) does not match")


def test_changed_entry_under_no_stored_node(full: Log) -> None:
    """Entries 16 to 19 are under no stored node yet: the log head's frontier has them."""
    forge(full, 17)
    fails(full, r"^log head frontier does not match the tree$")


def test_changed_entry_with_the_whole_tree_recomputed(full: Log) -> None:
    """Leaves, nodes and head all made consistent again: only the signed checkpoints object."""
    forge(full, 9)
    frontier, nodes = Frontier(), []
    frontier.extend(leaf_hashes(full.db, full.tenant_id), nodes)
    assert nodes
    sql(full, "DELETE FROM merkle_nodes WHERE tenant_id = :t")
    with full.db.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO merkle_nodes (tenant_id, level, idx, hash) VALUES (:t, :l, :i, :h)"),
            [{"t": full.tenant_id, "l": lv, "i": ix, "h": h} for lv, ix, h in nodes],
        )
    sql(full, "UPDATE log_heads SET frontier = :f WHERE tenant_id = :t", f=frontier.encode())
    fails(full, r"^checkpoint at size 13: root does not match the journal")


def test_deleted_entry(full: Log) -> None:
    sql(full, "DELETE FROM journal_entries WHERE tenant_id = :t AND seq = 7")
    fails(full, r"^journal entry 7 is missing")


def test_deleted_last_entry(full: Log) -> None:
    sql(full, "DELETE FROM journal_entries WHERE tenant_id = :t AND seq = :s", s=SIZE - 1)
    fails(full, rf"^journal entry {SIZE - 1} is missing")


def test_two_entries_swapped(full: Log) -> None:
    """Entries 3 and 10 change places, each keeping its own (valid) leaf hash."""
    for a, b in ((3, -1), (10, 3), (-1, 10)):
        sql(full, "UPDATE journal_entries SET seq = :b WHERE tenant_id = :t AND seq = :a", a=a, b=b)
    fails(full, r"^journal entry 3: entry says it is entry 10 \(moved or reordered\)")


def test_changed_closed_by(full: Log) -> None:
    """Which entry closed a version row: an entity's history is read from these."""
    row_id, eid = a_row(full, 1)
    sql(full, "UPDATE customers SET closed_by = 10000 WHERE row_id = :r", r=row_id)
    fails(
        full,
        rf"^customer versions differ from the journal: row {row_id} \(entity {eid}, "
        r"journal entry 1\) has closed_by",
        check_with="rebuild",
    )


def test_changed_merkle_node(full: Log) -> None:
    h = one(full, "SELECT hash FROM merkle_nodes WHERE tenant_id = :t AND level = 4 AND idx = 0")[0]
    sql(
        full,
        "UPDATE merkle_nodes SET hash = :h WHERE tenant_id = :t AND level = 4 AND idx = 0",
        h=flip(bytes(h), 0),
    )
    fails(full, r"^tree node level 4 index 0 \(journal entries 0 to 15\) does not match")


def test_deleted_merkle_node(full: Log) -> None:
    sql(full, "DELETE FROM merkle_nodes WHERE tenant_id = :t AND level = 4 AND idx = 0")
    fails(full, r"^tree node level 4 index 0 \(journal entries 0 to 15\) is missing")


def test_extra_merkle_node(full: Log) -> None:
    sql(
        full,
        "INSERT INTO merkle_nodes (tenant_id, level, idx, hash) VALUES (:t, 4, 1, :h)",
        h=bytes(32),
    )
    fails(full, r"^tree node level 4 index 1 \(journal entries 16 to 31\) is beyond the tree")


@pytest.mark.parametrize("level", [1, 2, 5])
def test_no_node_of_an_unstored_level(full: Log, level: int) -> None:
    """Only every merkle.STRIDE-th level is stored: the schema refuses the others."""
    with pytest.raises(IntegrityError):
        sql(
            full,
            "INSERT INTO merkle_nodes (tenant_id, level, idx, hash) VALUES (:t, :l, 0, :h)",
            l=level,
            h=bytes(32),
        )


def test_changed_log_head(full: Log) -> None:
    sql(full, "UPDATE log_heads SET size = size + 1 WHERE tenant_id = :t")
    fails(full, rf"^journal entry {SIZE} is missing \(the log head says {SIZE + 1} entries\)")


# --- checkpoints ---------------------------------------------------------------------------


def test_changed_checkpoint_note(full: Log) -> None:
    note = one(full, "SELECT note FROM checkpoints WHERE tenant_id = :t AND size = 13")[0]
    lines = note.split("\n")
    lines[2] = lines[2].replace(lines[2][4], "A" if lines[2][4] != "A" else "B", 1)
    sql(
        full,
        "UPDATE checkpoints SET note = :n WHERE tenant_id = :t AND size = 13",
        n="\n".join(lines),
    )
    fails(full, r"^checkpoint at size 13: checkpoint signature does not verify")


def test_changed_checkpoint_signature_padding(full: Log) -> None:
    """A change that decodes to the same signature is still a change to the stored note."""
    note = one(full, "SELECT note FROM checkpoints WHERE tenant_id = :t AND size = 8")[0]
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"
    end = note.rindex("=")  # 68 signature bytes: the last character carries 2 unused bits
    forged = note[: end - 1] + alphabet[alphabet.index(note[end - 1]) ^ 1] + note[end:]
    assert base64.b64decode(forged.split(" ")[-1]) == base64.b64decode(note.split(" ")[-1])
    sql(full, "UPDATE checkpoints SET note = :n WHERE tenant_id = :t AND size = 8", n=forged)
    fails(full, r"^checkpoint at size 8: signature is not in canonical base64")


def test_changed_checkpoint_root(full: Log) -> None:
    root = one(full, "SELECT root FROM checkpoints WHERE tenant_id = :t AND size = 20")[0]
    sql(
        full,
        "UPDATE checkpoints SET root = :r WHERE tenant_id = :t AND size = 20",
        r=flip(bytes(root), 7),
    )
    fails(full, r"^checkpoint at size 20: signed note does not match the stored size or root")


# --- version rows --------------------------------------------------------------------------


def a_row(log: Log, seq: int) -> tuple[int, str]:
    row = one(
        log,
        "SELECT row_id, entity_id FROM customers WHERE tenant_id = :t AND seq = :s "
        "ORDER BY valid_from LIMIT 1",
        s=seq,
    )
    return int(row[0]), str(row[1])


def test_changed_version_row_value(full: Log) -> None:
    row_id, eid = a_row(full, 9)
    sql(full, "UPDATE customers SET name = 'Evil Corp' WHERE row_id = :r", r=row_id)
    fails(
        full,
        rf"^customer versions differ from the journal: row {row_id} \(entity {eid}, "
        r"journal entry 9\) has name 'Evil Corp', the journal says 'Customer .+'$",
        check_with="rebuild",
    )


def test_changed_version_row_valid_to(full: Log) -> None:
    row_id, eid = a_row(full, 2)
    sql(full, "UPDATE customers SET valid_to = valid_to - 1 WHERE row_id = :r", r=row_id)
    fails(
        full,
        rf"^customer versions differ from the journal: row {row_id} \(entity {eid}, "
        r"journal entry 2\) has valid_to datetime",
        check_with="rebuild",
    )


def test_changed_version_row_recorded_time(full: Log) -> None:
    row_id, eid = a_row(full, 1)
    sql(
        full,
        "UPDATE customers SET recorded_from = recorded_from - 1000000 WHERE row_id = :r",
        r=row_id,
    )
    fails(
        full,
        rf"^customer versions differ from the journal: row {row_id} \(entity {eid}, "
        r"journal entry 1\) has recorded_from datetime",
        check_with="rebuild",
    )


def test_deleted_version_row(full: Log) -> None:
    row_id, eid = a_row(full, 14)
    sql(full, "DELETE FROM customers WHERE row_id = :r", r=row_id)
    fails(
        full,
        rf"^customer versions differ from the journal: the row for entity {eid} valid "
        r"from .+ written by journal entry 14 is missing$",
        check_with="rebuild",
    )


def test_inserted_version_row(full: Log) -> None:
    row_id, eid = a_row(full, 3)
    with full.db.engine.begin() as conn:
        cols = [c.name for c in Customer.__table__.columns if c.name != "row_id"]
        conn.execute(
            text(
                f"INSERT INTO customers ({', '.join(cols)}) "
                f"SELECT {', '.join(cols)} FROM customers WHERE row_id = :r"
            ),
            {"r": row_id},
        )
        new_row = conn.execute(text("SELECT max(row_id) FROM customers")).scalar_one()
    fails(
        full,
        rf"^customer versions differ from the journal: row {new_row} \(entity {eid}, "
        r"journal entry 3\) is not in the journal$",
        check_with="rebuild",
    )


# --- several faults: the earliest in the log is named ------------------------------------


def test_a_node_before_a_bad_entry_is_named_first(full: Log) -> None:
    sql(
        full,
        "UPDATE journal_entries SET leaf_hash = :h WHERE tenant_id = :t AND seq = 17",
        h=bytes(32),
    )
    sql(
        full,
        "UPDATE merkle_nodes SET hash = :h WHERE tenant_id = :t AND level = 4 AND idx = 0",
        h=bytes(32),
    )
    fails(full, r"^tree node level 4 index 0 \(journal entries 0 to 15\) does not match")


def test_a_bad_entry_before_a_node_is_named_first(full: Log) -> None:
    sql(
        full,
        "UPDATE merkle_nodes SET hash = :h WHERE tenant_id = :t AND level = 4 AND idx = 0",
        h=bytes(32),
    )
    sql(
        full,
        "UPDATE journal_entries SET leaf_hash = :h WHERE tenant_id = :t AND seq = 3",
        h=bytes(32),
    )
    fails(full, r"^journal entry 3: leaf hash does not match the entry bytes$")


@pytest.mark.parametrize("seq", [8, 10])  # first of a 4-entry page, and inside one
def test_recorded_time_running_backwards(full: Log, seq: int) -> None:
    """An entry re-stamped earlier than the one before it, with its leaf hash recomputed."""
    raw = bytes(
        one(full, "SELECT entry FROM journal_entries WHERE tenant_id = :t AND seq = :s", s=seq)[0]
    )
    at = raw.index(b'"at":"') + 6
    forged = raw[:at] + b"2001" + raw[at + 4 :]
    sql(
        full,
        "UPDATE journal_entries SET entry = :e, leaf_hash = :h WHERE tenant_id = :t AND seq = :s",
        e=forged,
        h=merkle.leaf_hash(forged),
        s=seq,
    )
    fails(full, rf"^journal entry {seq}: recorded time runs backwards$")


def test_entry_that_is_not_json(full: Log) -> None:
    forged = b'{"v":1,"seq":5} trailing'
    sql(
        full,
        "UPDATE journal_entries SET entry = :e, leaf_hash = :h WHERE tenant_id = :t AND seq = 5",
        e=forged,
        h=merkle.leaf_hash(forged),
    )
    fails(full, r"^journal entry 5: entry does not parse \(extra data at character 15\)$")


def test_deleted_run_of_entries(full: Log) -> None:
    """Entries 4 to 7 are gone: a whole page when pages hold four."""
    sql(full, "DELETE FROM journal_entries WHERE tenant_id = :t AND seq >= 4 AND seq < 8")
    fails(full, r"^journal entry 4 is missing \(next stored is 8\)$")


def test_stray_entry_beyond_the_log(full: Log) -> None:
    sql(
        full,
        "INSERT INTO journal_entries (tenant_id, seq, entry, leaf_hash) "
        "SELECT tenant_id, 25, entry, leaf_hash "
        "FROM journal_entries WHERE tenant_id = :t AND seq = 3",
    )
    fails(full, rf"^journal entry {SIZE} is missing \(next stored is 25\)$")


def test_empty_log_verifies(log: Log) -> None:
    with log.db.reading() as s:
        report = verify_log(s, log.tenant, log.verifier)
        assert (report.entries, report.nodes, report.checkpoints) == (0, 0, 0)
        assert rebuild_check(s, log.tenant).rows == 0
    log.checkpoint()
    with log.db.reading() as s:
        assert verify_log(s, log.tenant, log.verifier).checkpoints == 1


def test_signed_checkpoint_beyond_the_journal(full: Log) -> None:
    """A genuine signature over a size the journal does not reach is still refused."""
    note = full.signer.sign(checkpoint_text(full.signer.name, SIZE + 5, bytes(32)))
    sql(
        full,
        "INSERT INTO checkpoints (tenant_id, size, root, note, created_at) "
        "VALUES (:t, :s, :r, :n, 0)",
        s=SIZE + 5,
        r=bytes(32),
        n=note,
    )
    fails(full, rf"^checkpoint at size {SIZE + 5}: is beyond the journal's {SIZE} entries$")
