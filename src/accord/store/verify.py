"""Full verification of a tenant's log and versions, and the rebuild check.

`verify_log` recomputes every leaf from its entry bytes and every stored node from the
leaves, checks what each entry says about itself, the head, every checkpoint's signature
and root, and the consistency of consecutive checkpoints. `rebuild_check` replays the
journal into empty tables and compares them with the live version tables. Both name the
first thing that is wrong: an entry by its number, a node by its place, a row by its id.

Both stream: the log is read in aligned pages of `PAGE` entries, and the tree is
rebuilt a page at a time, so memory stays flat however long the log is.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import json
import json.scanner
import multiprocessing
import os
import re
import sys
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import zstandard as zstd
from sqlalchemy import Engine, RowMapping, bindparam, func, select, union_all
from sqlalchemy.orm import Session

from accord.store import blobs, derived, entry_codec, journal, merkle
from accord.store.checkpoints import NoteError, Verifier, parse_checkpoint
from accord.store.db import Base, driver_rows, make_engine
from accord.store.journal import (
    Checkpoint,
    Entry,
    Frontier,
    JournalEntry,
    LogHead,
    MerkleNode,
    Op,
    consistency_proof,
    iso,
)
from accord.store.temporal import FACTS, REGISTRY, apply_entry
from accord.store.tenancy import Tenant

Progress = Callable[[int], None]
T = TypeVar("T")

#: Entries per page; a power of two, so each page is a run of complete subtrees.
PAGE_LEVEL = 12
PAGE = 1 << PAGE_LEVEL

#: (position in the log, message): a fault and where it is, to report the earliest one.
Fault = tuple[int, str]


class VerificationError(Exception):
    """The first thing found wrong, in words that name it."""


@dataclass
class Report:
    entries: int = 0
    entry_bytes: int = 0
    nodes: int = 0
    checkpoints: int = 0
    rows: int = 0
    notes: list[str] = field(default_factory=list)


# --- entries -----------------------------------------------------------------------------

_ENTRY_KEYS = frozenset(
    [
        "v",
        "seq",
        "tenant",
        "at",
        "actor",
        "kind",
        "op",
        "type",
        "id",
        "valid_from",
        "valid_to",
        "data",
        "reason",
    ]
)
_OPS = frozenset(op.value for op in Op)
_LEAF = hashlib.sha256(b"\x00")
_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z").fullmatch

Row = Sequence[Any]  # (seq, entry, leaf_hash)


def _is_time(value: Any) -> bool:
    """The one form `journal.iso` writes, and a real instant."""
    if type(value) is not str or _ISO(value) is None:
        return False
    try:
        datetime.fromisoformat(value[:-1])
    except ValueError:
        return False
    return True


def _entry_fault(obj: Any, seq: int, tenant: str, last_at: str) -> str | None:
    """What is wrong with parsed entry `obj` at `seq`, if anything."""
    if type(obj) is not dict or obj.keys() != _ENTRY_KEYS:
        return "entry does not parse (not the fields of a version 1 entry)"
    if obj["v"] != 1 or type(obj["v"]) is not int:
        return f"entry does not parse (unknown entry version {obj['v']!r})"
    if obj["seq"] != seq or type(obj["seq"]) is not int:
        return f"entry says it is entry {obj['seq']} (moved or reordered)"
    if obj["tenant"] != tenant:
        return "entry belongs to another tenant's log"
    if type(obj["id"]) is not str:
        return "entry does not parse (its entity id is not text)"
    at, valid_from, valid_to = obj["at"], obj["valid_from"], obj["valid_to"]
    if not (_is_time(at) and _is_time(valid_from) and (valid_to is None or _is_time(valid_to))):
        return "entry does not parse (a time is not a UTC instant in the journal's form)"
    if obj["op"] not in _OPS or type(obj["data"]) is not dict:
        return "entry does not parse (unknown op, or data is not an object)"
    if not all(type(obj[k]) is str for k in ("actor", "kind", "reason", "type")):
        return "entry does not parse (a text field is not text)"
    # The form is fixed width, so these string comparisons compare instants.
    if valid_to is not None and valid_to <= valid_from:
        return "valid interval is empty"
    if at < last_at:
        return "recorded time runs backwards"
    return None


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# typeshed says make_scanner takes a make_scanner; it takes the decoder whose settings it uses
_decoder: Any = json.JSONDecoder(parse_constant=_no_constants)
_scan = json.scanner.make_scanner(_decoder)


def _parse(raw: bytes) -> Any:
    """The JSON value that is all of `raw`: nothing before or after it, not even space.

    The C scanner directly, without json.loads's two whitespace regexes per call.
    """
    text = raw.decode("utf-8")
    try:
        obj, end = _scan(text, 0)
    except StopIteration as exc:
        raise ValueError(f"not JSON at character {exc.value}") from None
    if end != len(text):
        raise ValueError(f"extra data at character {end}")
    return obj


Checked = tuple[Fault | None, str, str]


def check_entries(rows: Sequence[Row], tenant: str, last_at: str = "") -> Checked:
    """The first fault among consecutive entries, and their first and last recorded times.

    Recomputes each leaf hash from the entry bytes and checks what the entry says: that it
    parses as an entry, its place, tenant, times, and that recorded time
    does not run backwards (from `last_at`, the time of the entry before the first).
    A pure function of its arguments, so pages can be checked in other processes.
    """
    leaf_state, parse, keys, ops, is_time = _LEAF, _parse, _ENTRY_KEYS, _OPS, _is_time
    first_at = checked_at = ""
    for seq, raw, leaf in rows:
        h = leaf_state.copy()
        h.update(raw)
        if h.digest() != leaf:
            fault = f"journal entry {seq}: leaf hash does not match the entry bytes"
            return (seq, fault), first_at, last_at
        try:
            obj = parse(raw)
        except ValueError as exc:
            return (seq, f"journal entry {seq}: entry does not parse ({exc})"), first_at, last_at
        # The common case in one expression; _entry_fault says what is wrong otherwise.
        if (
            type(obj) is dict
            and obj.keys() == keys
            and obj["seq"] == seq
            and type(obj["seq"]) is int
            and obj["tenant"] == tenant
            and type(obj["id"]) is str
            and obj["v"] == 1
            and type(obj["v"]) is int
            and obj["op"] in ops
            and type(obj["data"]) is dict
            and type(obj["actor"]) is str
            and type(obj["kind"]) is str
            and type(obj["reason"]) is str
            and type(obj["type"]) is str
        ):
            at, valid_from, valid_to = obj["at"], obj["valid_from"], obj["valid_to"]
            # One change's entries share a recorded time: check its form once.
            if (
                (at == checked_at or is_time(at))
                and at >= last_at
                and is_time(valid_from)
                and (valid_to is None or (is_time(valid_to) and valid_to > valid_from))
            ):
                checked_at = last_at = at
                first_at = first_at or at
                continue
        wrong = _entry_fault(obj, seq, tenant, last_at)
        assert wrong is not None
        return (seq, f"journal entry {seq}: {wrong}"), first_at, last_at
    return None, first_at, last_at


_je = JournalEntry.__table__.c
# A key range, not "seq > last ORDER BY seq LIMIT n": without statistics (a new database)
# PostgreSQL planned that as a scan of the rest of the log and a sort, page after page.
_PAGE_QUERY = select(_je.seq, _je.entry, _je.leaf_hash, _je.dictionary_id).where(
    _je.tenant_id == bindparam("t"), _je.seq >= bindparam("lo"), _je.seq < bindparam("hi")
)


def _first_seq(row: Row) -> int:
    return int(row[0])


def _pages(session: Session, tenant_id: int, size: int = PAGE) -> Iterator[list[Row]]:
    """Every entry in order, in pages of the aligned key ranges [k * size, (k + 1) * size),
    skipping none that is stored (never all at once: memory stays flat)."""
    lo = 0
    while True:
        params = {"t": tenant_id, "lo": lo, "hi": lo + size}
        rows: list[Row] = list(driver_rows(session, _PAGE_QUERY, params))
        rows.sort(key=_first_seq)  # already in order, or nearly: cheap
        if rows:
            yield rows
        if len(rows) == size:
            lo += size
            continue
        # a short page: the log's end, or a hole; go on at the next stored entry if any
        after = session.scalar(
            select(func.min(_je.seq)).where(_je.tenant_id == tenant_id, _je.seq >= lo + size)
        )
        if after is None:
            return
        lo = after - after % size


def _dictionaries(
    session: Session, tenant_id: int, rows: Sequence[Row], known: dict[int, bytes]
) -> dict[int, bytes]:
    """The stored bytes of the dictionaries the page's entries name, as stored: read once
    per verification into `known`, not through the codec cache (a verifier trusts none)."""
    wanted = {r[3] for r in rows if r[3] is not None}
    missing = wanted - known.keys()
    if missing:
        d = entry_codec.JournalDictionary
        for id_, raw in session.execute(
            select(d.id, d.dictionary).where(d.tenant_id == tenant_id, d.id.in_(missing))
        ):
            known[id_] = bytes(raw)
    return {i: known[i] for i in wanted if i in known}


@functools.lru_cache(maxsize=8)
def _decompressor(dictionary: bytes) -> zstd.ZstdDecompressor:
    return entry_codec.decompressor(dictionary)


def decoded(rows: Sequence[Row], dictionaries: Mapping[int, bytes]) -> list[Row]:
    """(seq, canonical bytes, leaf hash) rows from (seq, stored, leaf hash, dictionary id).

    An entry that will not decompress (an altered frame, a missing or altered dictionary)
    keeps its stored bytes, so the leaf hash check names it."""
    out: list[Any] = []
    for seq, raw, leaf, dictionary in rows:
        raw = bytes(raw)
        if dictionary is not None:
            with suppress(KeyError, zstd.ZstdError):
                raw = _decompressor(dictionaries[dictionary]).decompress(raw)
        out.append((seq, raw, leaf))
    return out


def check_stored(
    rows: Sequence[Row], tenant: str, dictionaries: Mapping[int, bytes]
) -> tuple[Checked, int]:
    """`check_entries` of stored rows, decompressed here (in a worker, when there are
    some), with the canonical bytes they came to."""
    plain = decoded(rows, dictionaries)
    return check_entries(plain, tenant), sum(len(r[1]) for r in plain)


def _gap(rows: Sequence[Row], first: int) -> int | None:
    """Index of the first row not at its place, if the page skips an entry."""
    if rows[0][0] == first and rows[-1][0] == first + len(rows) - 1:
        return None  # seq is the primary key, so sorted and unique: no gap in between
    return next(i for i, r in enumerate(rows) if r[0] != first + i)


# --- the tree -----------------------------------------------------------------------------


def _node_name(level: int, idx: int) -> str:
    first, last = idx << level, ((idx + 1) << level) - 1
    return f"tree node level {level} index {idx} (journal entries {first} to {last})"


def _fault_at(level: int, idx: int, what: str) -> Fault:
    return ((idx + 1) << level) - 1, f"{_node_name(level, idx)} {what}"


_mn = MerkleNode.__table__.c
#: The stored levels within a page.
_PAGE_STORED = [lv for lv in range(1, PAGE_LEVEL + 1) if merkle.is_stored(lv)]
# One range per level, glued with UNION ALL: each is a primary-key range scan, where the
# same ranges joined by OR made SQLite scan every node of the tenant.
_NODES_QUERY = union_all(
    *(
        select(_mn.level, _mn.idx, _mn.hash).where(
            _mn.tenant_id == bindparam("t"),
            _mn.level == lv,
            _mn.idx >= bindparam(f"lo{lv}"),
            _mn.idx < bindparam(f"hi{lv}"),
        )
        for lv in _PAGE_STORED
    )
).order_by("level", "idx")


class _Tree:
    """Rebuilds the tree from the leaves a page at a time, checking every stored node."""

    def __init__(
        self, session: Session, tenant_id: int, sizes: Sequence[int], page_level: int
    ) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.page_level = page_level
        self.size = 0
        self.nodes = 0
        # complete subtrees above the page level, as a frontier of page roots
        self.upper = Frontier()
        # the subtrees whose hashes the checkpoint roots and the head's frontier need
        self.wanted: dict[int, set[int]] = {}
        for s in sizes:
            for lv, ix in merkle.complete_subtrees(0, s):
                self.wanted.setdefault(lv, set()).add(ix)
        self.kept: dict[merkle.Node, bytes] = {}

    def _keep(self, level: int, lo: int, hashes: Sequence[bytes]) -> None:
        for ix in self.wanted.get(level, ()):
            if lo <= ix < lo + len(hashes):
                self.kept[(level, ix)] = hashes[ix - lo]

    def _stored(self, start: int, count: int) -> dict[int, tuple[list[int], list[bytes]]]:
        """Stored nodes above the leaves of [start, start + count), by level."""
        params: dict[str, Any] = {"t": self.tenant_id}
        for lv in _PAGE_STORED:
            if lv <= self.page_level:
                params[f"lo{lv}"], params[f"hi{lv}"] = start >> lv, (start + count) >> lv
            else:
                params[f"lo{lv}"] = params[f"hi{lv}"] = 0  # above the page: none
        out: dict[int, tuple[list[int], list[bytes]]] = {}
        for lv, ix, h in driver_rows(self.session, _NODES_QUERY, params):
            idxs, hashes = out.setdefault(lv, ([], []))
            idxs.append(ix)
            hashes.append(bytes(h))
        return out

    def add(self, leaves: list[bytes]) -> Fault | None:
        """Check the nodes over the next leaves: a full page, or the log's last leaves."""
        start, count = self.size, len(leaves)
        stored = self._stored(start, count)
        self._keep(0, start, leaves)
        sha256 = hashlib.sha256
        level = leaves
        for lv in range(1, self.page_level + 1):
            width = len(level) // 2
            if width == 0:
                break
            lo = start >> lv
            computed = [
                sha256(b"\x01" + level[2 * i] + level[2 * i + 1]).digest() for i in range(width)
            ]
            if merkle.is_stored(lv):
                idxs, hashes = stored.get(lv, ([], []))
                if not (len(idxs) == width and idxs[0] == lo and hashes == computed):
                    return self._first_bad(lv, lo, computed, idxs, hashes)
                self.nodes += width
            self._keep(lv, lo, computed)
            level = computed
        self.size += count
        if count == 1 << self.page_level:
            return self._push_page_root(level[0])
        return None

    @staticmethod
    def _first_bad(
        lv: int, lo: int, computed: list[bytes], idxs: list[int], hashes: list[bytes]
    ) -> Fault:
        found = dict(zip(idxs, hashes, strict=True))
        for i, h in enumerate(computed):
            if lo + i not in found:
                return _fault_at(lv, lo + i, "is missing")
            if found[lo + i] != h:
                return _fault_at(lv, lo + i, "does not match the leaves below it")
        raise AssertionError("unreachable: stored nodes are in range and sorted")

    def _push_page_root(self, root: bytes) -> Fault | None:
        completed: list[tuple[int, int, bytes]] = []
        self.upper.push(root, completed)
        base = self.page_level
        self._keep(base, self.upper.size - 1, [root])
        for rel, ix, h in completed:
            lv = rel + base
            self._keep(lv, ix, [h])
            if not merkle.is_stored(lv):
                continue
            got = self.session.scalar(
                select(MerkleNode.hash).where(
                    MerkleNode.tenant_id == self.tenant_id,
                    MerkleNode.level == lv,
                    MerkleNode.idx == ix,
                )
            )
            if got is None:
                return _fault_at(lv, ix, "is missing")
            if bytes(got) != h:
                return _fault_at(lv, ix, "does not match the leaves below it")
            self.nodes += 1
        return None

    def beyond(self) -> Fault | None:
        """A stored node that covers leaves the log does not have."""
        n = MerkleNode.__table__.c
        size = self.size
        top = size.bit_length() - 1  # the highest level with a complete subtree
        parts = [select(n.level, n.idx).where(n.tenant_id == self.tenant_id, n.level > max(top, 0))]
        parts += [
            select(n.level, n.idx).where(
                n.tenant_id == self.tenant_id, n.level == lv, n.idx >= size >> lv
            )
            for lv in range(1, top + 1)
            if merkle.is_stored(lv)
        ]
        row = self.session.execute(union_all(*parts).order_by("level", "idx").limit(1)).first()
        if row is None:
            return None
        return _fault_at(row[0], row[1], "is beyond the tree")

    def frontier(self) -> bytes:
        return b"".join(self.kept[nd] for nd in merkle.complete_subtrees(0, self.size))

    def root(self, size: int) -> bytes:
        return merkle.range_hash(0, size, self.kept) if size else merkle.EMPTY_ROOT


# --- checkpoints ----------------------------------------------------------------------------


def open_checkpoint(verifier: Verifier, note: str) -> tuple[str, int, bytes]:
    """(origin, size, root) of a signed checkpoint, or NoteError.

    `Verifier.open` is strict (one exact form: newline line ends, canonical base64), so
    any changed byte of a stored note fails here; the tests flip every bit to make sure.
    """
    return parse_checkpoint(verifier.open(note))


# --- the whole log ------------------------------------------------------------------------


#: Below this many entries a log is checked in this process: starting workers costs more.
PARALLEL_FROM = 16 * PAGE


class _Here(Executor):
    """An executor that runs each call at once, in this process."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to whoever asks for the result, as a pool would
            future.set_exception(exc)
        return future


@contextmanager
def _workers(jobs: int | None, size: int) -> Iterator[tuple[Executor, int]]:
    """Where to check entries: worker processes for a long log on a machine with cores to
    spare, else here. Workers are forked, so they start at once with nothing to import and
    never touch the parent's database connections (they only run `check_entries`)."""
    if jobs is None:
        cores = os.cpu_count() or 1
        jobs = cores if size >= PARALLEL_FROM else 1
    # From Python 3.12 forking a process that runs other threads is deprecated (a thread
    # may hold a lock the child then waits for); there, only a single-threaded one forks.
    can_fork = "fork" in multiprocessing.get_all_start_methods() and (
        sys.version_info < (3, 12) or threading.active_count() == 1
    )
    if jobs <= 1 or not can_fork:
        with _Here() as here:
            yield here, 1
        return
    # Frozen objects are left alone by the garbage collector: neither the parent nor the
    # forked workers walk (and, in a worker, copy page by page) everything loaded so far.
    gc.freeze()
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            yield pool, jobs
    finally:
        gc.unfreeze()


def verify_log(
    session: Session,
    tenant: Tenant,
    verifier: Verifier,
    progress: Progress | None = None,
    *,
    jobs: int | None = None,
    page_level: int = PAGE_LEVEL,
) -> Report:
    """Check everything stored about the tenant's log; raise VerificationError at the first
    fault (the earliest in the log, where an entry and a node are both wrong).

    The main process reads the log and rebuilds the tree; entries are checked by `jobs`
    worker processes (default: one per core for a long log, none for a short one).
    `page_level` sets the page size, 2 ** page_level entries (at most PAGE), for tests.
    """
    if not 1 <= page_level <= PAGE_LEVEL:
        raise ValueError(f"page_level must be between 1 and {PAGE_LEVEL}")
    page = 1 << page_level
    report = Report()
    h = LogHead.__table__.c
    head = session.execute(
        select(h.size, h.last_at, h.frontier).where(h.tenant_id == tenant.id)
    ).first()
    c = Checkpoint.__table__.c
    cps = session.execute(
        select(c.size, c.root, c.note).where(c.tenant_id == tenant.id).order_by(c.size)
    ).all()
    head_size = head.size if head else 0
    sizes = [head_size, *(cp.size for cp in cps if cp.size <= head_size)]
    tree = _Tree(session, tenant.id, sizes, page_level)

    faults: list[Fault] = []
    last_at = ""  # recorded time of the last entry checked, across pages
    checking: deque[tuple[int, Future[tuple[Checked, int]]]] = deque()
    dictionaries: dict[int, bytes] = {}

    def collect() -> None:
        nonlocal last_at
        first, future = checking.popleft()
        (fault, first_at, page_last), entry_bytes = future.result()
        report.entry_bytes += entry_bytes
        if first_at and first_at < last_at:
            faults.append((first, f"journal entry {first}: recorded time runs backwards"))
        if fault is not None:
            faults.append(fault)
        last_at = page_last or last_at

    with _workers(jobs, head_size) as (executor, jobs):
        for rows in _pages(session, tenant.id, page):
            first = report.entries
            gap = _gap(rows, first)
            if gap is not None:
                seq, found = first + gap, rows[gap][0]
                faults.append((seq, f"journal entry {seq} is missing (next stored is {found})"))
                rows = rows[:gap]
            if rows:
                fault = tree.add([bytes(r[2]) for r in rows])
                if fault is not None:
                    faults.append(fault)
                used = _dictionaries(session, tenant.id, rows, dictionaries)
                checking.append(
                    (first, executor.submit(check_stored, rows, tenant.public_id, used))
                )
            report.entries += len(rows)
            if progress:
                progress(len(rows))
            # A few pages in flight keep the workers busy and memory flat.
            while checking and (faults or len(checking) > 2 * jobs):
                collect()
            if faults:
                break
        while checking:
            collect()
    if faults:
        # The earliest in the log; ties go to the entry, the cause of the bad node above it.
        raise VerificationError(min(faults, key=lambda f: (f[0], "tree node" in f[1]))[1])

    size = report.entries
    report.nodes = tree.nodes
    if head is None:
        if size:
            raise VerificationError("the log has entries but no log head")
    elif head.size > size:
        raise VerificationError(
            f"journal entry {size} is missing (the log head says {head.size} entries)"
        )
    elif head.size < size:
        raise VerificationError(
            f"journal entry {head.size} is beyond the log head, which says {head.size} entries"
        )
    beyond = tree.beyond()
    if beyond is not None:
        raise VerificationError(beyond[1])
    if head is not None:
        if head.frontier != tree.frontier():
            raise VerificationError("log head frontier does not match the tree")
        if size and iso(head.last_at) < last_at:
            raise VerificationError("log head time is earlier than its last entry")

    previous: Any = None
    for cp in cps:
        where = f"checkpoint at size {cp.size}"
        try:
            origin, cp_size, cp_root = open_checkpoint(verifier, cp.note)
        except NoteError as exc:
            raise VerificationError(f"{where}: {exc}") from exc
        if origin != verifier.name or cp_size != cp.size or cp_root != cp.root:
            raise VerificationError(f"{where}: signed note does not match the stored size or root")
        if cp.size > size:
            raise VerificationError(f"{where}: is beyond the journal's {size} entries")
        if tree.root(cp.size) != cp.root:
            raise VerificationError(f"{where}: root does not match the journal")
        if previous is not None and previous.size > 0:
            proof = consistency_proof(session, tenant.id, previous.size, cp.size)
            try:
                merkle.verify_consistency(previous.size, cp.size, proof, previous.root, cp.root)
            except merkle.ProofError as exc:
                raise VerificationError(
                    f"{where}: not consistent with size {previous.size}: {exc}"
                ) from exc
        previous = cp
        report.checkpoints += 1
    return report


# --- rebuild ------------------------------------------------------------------------------


#: (what its rows are, the table's model, the columns that order its rows uniquely)
Replayed = tuple[str, Any, tuple[str, ...]]


def replayed_tables() -> list[Replayed]:
    """Every table replay rebuilds: the version tables, whose rows are ordered by the
    entry that wrote them, then valid time (unique: one entry writes disjoint valid
    intervals); the fact tables, by their entry; then the derived tables, in their own
    order."""
    return (
        [
            (f"{entity_type} versions", model, ("seq", "valid_from"))
            for entity_type, model in sorted(REGISTRY.items())
        ]
        + [
            (f"{entity_type} facts", model, ("seq",))
            for entity_type, model in sorted(FACTS.items())
        ]
        + [(f"{d.name} rows", d.model, d.order) for d in derived.DERIVATIONS.values()]
    )


def row_key(model: Any) -> tuple[str, ...]:
    """The columns naming one row of a replayed table: its primary key (`row_id`, or a
    fact table's (tenant, parent, n))."""
    return tuple(c.key for c in model.__table__.primary_key.columns)


def table_rows(
    session: Session, model: Any, tenant_id: int, order: Sequence[str]
) -> Generator[RowMapping]:
    """A table's rows for the tenant in `order`."""
    t = model.__table__
    stmt = (
        select(t)
        .where(t.c.tenant_id == tenant_id)
        .order_by(*(t.c[c] for c in dict.fromkeys((*order, *row_key(model)))))
        .execution_options(yield_per=1000)
    )
    with session.execute(stmt) as result:
        yield from result.mappings()


def _which(row: RowMapping) -> str:
    if "entity_id" in row:
        return f"row {row['row_id']} (entity {row['entity_id']}, journal entry {row['seq']})"
    if "row_id" in row:
        return f"row {row['row_id']}"
    return f"the row of journal entry {row['seq']} (step {row['n']})"


def _describe(row: RowMapping, order: Sequence[str]) -> str:
    if "entity_id" in row:
        return (
            f"the row for entity {row['entity_id']} valid from "
            f"{row['valid_from']:%Y-%m-%d %H:%M:%S.%f} written by journal entry {row['seq']}"
        )
    return "the row with " + ", ".join(f"{c} {row[c]}" for c in order)


def _compare(checked: Replayed, live: Iterator[RowMapping], replayed: Iterator[RowMapping]) -> int:
    """Merge the two orders; raise at the first row that differs, is missing or is extra."""
    what, model, order = checked
    columns = [c.key for c in model.__table__.columns if c.key != "row_id"]
    differ = f"{what} differ from the journal"
    a, b = next(live, None), next(replayed, None)
    count = 0
    while a is not None or b is not None:
        ka = tuple(a[c] for c in order) if a is not None else None
        kb = tuple(b[c] for c in order) if b is not None else None
        if a is not None and (kb is None or (ka is not None and ka < kb)):
            raise VerificationError(f"{differ}: {_which(a)} is not in the journal")
        assert b is not None
        if a is None or ka != kb:
            raise VerificationError(f"{differ}: {_describe(b, order)} is missing")
        for col in columns:
            if a[col] != b[col]:
                raise VerificationError(
                    f"{differ}: {_which(a)} has {col} {a[col]!r}, the journal says {b[col]!r}"
                )
        count += 1
        a, b = next(live, None), next(replayed, None)
    return count


def scratch_tables(tenant: Tenant) -> Engine:
    """Empty tables (in-memory SQLite) holding only the tenant's row: where a replay of the
    journal goes to be compared with the live tables."""
    engine = make_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as s, s.begin():
        s.add(
            Tenant(
                id=tenant.id,
                public_id=tenant.public_id,
                slug=tenant.slug,
                name=tenant.name,
                created_at=tenant.created_at,
            )
        )
    return engine


def rebuild_check(session: Session, tenant: Tenant, progress: Progress | None = None) -> Report:
    """Replay the journal into empty tables (in-memory SQLite) and compare with the live ones."""
    report = Report()
    scratch = scratch_tables(tenant)
    try:
        with Session(scratch) as target:
            known: dict[int, bytes] = {}
            for rows in _pages(session, tenant.id):
                used = _dictionaries(session, tenant.id, rows, known)
                for row in decoded(rows, used):
                    apply_entry(target, tenant.id, Entry.from_bytes(row[1]))
                report.entries += len(rows)
                if progress:
                    progress(len(rows))
            target.flush()
            derived.rebuild(
                target, tenant.id, lambda seqs: journal.entries_at(session, tenant.id, seqs)
            )
            for checked in replayed_tables():
                _, model, order = checked
                with (
                    closing(table_rows(session, model, tenant.id, order)) as live,
                    closing(table_rows(target, model, tenant.id, order)) as replayed,
                ):
                    report.rows += _compare(checked, live, replayed)
    finally:
        scratch.dispose()
    return report


# --- blobs --------------------------------------------------------------------------------


def verify_blob_store(session: Session, tenant: Tenant, progress: Progress | None = None) -> int:
    """Decode every blob of the tenant from its rows and re-hash it (`blobs.verify_blobs`);
    raise VerificationError naming the first that is wrong. Returns how many were checked."""
    problems = blobs.verify_blobs(session, tenant.id, progress)
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise VerificationError(problems[0] + more)
    return blobs.count(session, tenant.id)
