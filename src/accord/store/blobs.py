"""The blob store: terms documents, screen captures and attachments, stored once each.

A blob is addressed by the SHA-256 of its bytes and stored once per tenant (putting the
same bytes again returns the same digest and writes nothing). Each is kept as one zstd
frame, encoded against a *dictionary*: the decoded bytes of blobs stored before it.

- **Delta against a base.** The previous version of the same document (``base=``) is the
  best dictionary there is: a new version costs about what changed. zstd is given the base's
  bytes as a raw-content dictionary, so a delta is an ordinary zstd frame. A few blobs down
  the base's chain are tried too (a history that undoes a change is nearer an older one).
- **Family dictionary.** Blobs that are alike but not versions of one another (the same
  screen of an offer journey shown to thousands of customers, the policies of one
  publisher) name a ``family=``. A family's dictionary is the concatenation of its *seeds*:
  the first members that it did not already predict well (an encoding over 1/NOVEL of
  their size), up to FAMILY_BUDGET bytes and FAMILY_SEEDS members, after which it is
  fixed. Each seed is itself encoded against the seeds before it. A blob with both a base
  and a family may use the family's seeds followed by its base as one dictionary.
- Each put keeps the smallest encoding (candidates are ranked with a fast zstd level, the
  winner is encoded at LEVEL). Frames carry no magic number, checksum or dictionary id:
  the row holds the size, the digest checks the bytes, the row names its dictionary. Only
  frames of SIZED bytes or more say their content size, for a faster decode.

**Reads stay fast however long the history: skip-deltas**, as Subversion's FSFS stores
revisions, in a mixed radix instead of 2. Version ``n`` of a line of versions (``n``
counts from the last version stored without a base) is a delta against an earlier version
at most ``digitsum(n) - 1`` deltas above a blob stored without a base, where
``digitsum(n)`` is ``n % SKIP`` plus the digits of ``n // SKIP`` in radix SKIP_HIGHER. In
practice version ``n`` is a delta against ``n - 1``, except at multiples of SKIP (64),
where it goes back to ``n - 64``; at multiples of 512, to ``n - 512``; and so on. So a read
decodes at most ``63 + 7 * log8(n / 64)`` deltas: 77 below 4,096 versions, 91 below
262,144, where plain deltas would need all of them; and storage pays one delta spanning
64 versions per 64 versions, one spanning 512 per 512, and so on. Why not radix 2: a zstd
delta decodes in about 20 microseconds for a small document and 40 for a 200 KB one (the
output is most of the work), while a delta that spans many versions is costly to store
(binary skip-deltas store about log2(n)/2 versions' worth of changes for every version);
most documents never reach 64 versions and pay nothing. A family dictionary adds at most
FAMILY_SEEDS decodes, once per process: decoded family dictionaries are cached, keyed
by the digests of their seeds and by their top seed (database, tenant, id, digest), so a
warm read does not walk the seeds. One query fetches every row a read needs, each looked
up by its primary key (its cost does not grow with the tenant's other blobs).

Writes happen in the caller's session and transaction, the unit of work of the journal
entry that names the digest. Rows are lean (an integer id for references, the 32-byte
digest, an index on its first 4 bytes) because the store is measured by every byte it
uses on disk, indexes and free space in pages included (`storage_bytes`).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

import zstandard as zstd
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    bindparam,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from accord.errors import Invalid
from accord.store.db import Base, driver_rows

#: zstd level of stored frames: the slowest and smallest of the normal levels (reads cost
#: about the same at any level).
LEVEL = 19
#: zstd level at which the candidate encodings of a put are compared.
TRIAL_LEVEL = 3
#: Radixes of the skip-deltas' lowest digit and of the others (see the module docstring).
SKIP = 64
SKIP_HIGHER = 8
#: How many blobs down the base's chain are tried as the delta base.
CANDIDATES = 3
#: A family's dictionary holds at most this many bytes, in at most this many seeds.
FAMILY_BUDGET = 256 * 1024
FAMILY_SEEDS = 64
#: A family member becomes a seed when its encoding is over 1/NOVEL of its size.
NOVEL = 16
#: A base delta of 1/RETRY of the size or more is tried with the family's seeds before it.
RETRY = 32
#: Blobs of this many bytes or more are stored in frames that say their content size (3
#: bytes more), which zstd decodes in one pass straight into the output: about a fifth
#: less time a delta than through its streaming buffers, for a 200 KB document.
SIZED = 64 * 1024
#: The largest blob accepted.
MAX_SIZE = 64 * 1024 * 1024
#: Bytes of the digest in the lookup index.
PREFIX = 4
#: Bytes of decoded family dictionaries kept in memory between reads, per process.
FAMILY_CACHE = 64 * 1024 * 1024

_FORMAT = zstd.FORMAT_ZSTD1_MAGICLESS
_MAX_WINDOW_LOG = 27  # 128 MiB: the largest window a decoder accepts by default
_HEX = re.compile(r"[0-9a-f]{64}").fullmatch


class Blob(Base):
    """Bytes stored once per tenant under their SHA-256: one zstd frame, decoded with the
    bytes of the family's seeds up to `dict_id` (if any) followed by those of `base_id`
    (if any) as its dictionary."""

    __tablename__ = "blobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    size: Mapped[int] = mapped_column(Integer)
    #: Place in its line of versions: 0 if stored without a base, else n + 1 of the blob
    #: given as `base=` (which may be further down the chain than `base_id`).
    n: Mapped[int] = mapped_column(Integer)
    base_id: Mapped[int | None] = mapped_column(ForeignKey("blobs.id"))
    #: The last family seed of the dictionary: it and the seeds before it.
    dict_id: Mapped[int | None] = mapped_column(ForeignKey("blobs.id"))
    data: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        CheckConstraint("size >= 0", name="size_not_negative"),
        CheckConstraint("n >= 0", name="n_not_negative"),
        Index("ix_blobs_digest", "tenant_id", func.substr(digest, 1, PREFIX)),
    )


class BlobFamily(Base):
    """A named family of similar blobs and its dictionary: the seeds linked from `seed_id`
    back through each seed's `dict_id`."""

    __tablename__ = "blob_families"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    seed_id: Mapped[int | None] = mapped_column(ForeignKey("blobs.id"))
    seeds: Mapped[int] = mapped_column(Integer)
    seed_bytes: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = {"sqlite_with_rowid": False}


_blobs = cast(Table, Blob.__table__)
_families = cast(Table, BlobFamily.__table__)


class BlobError(Exception):
    """A stored blob that cannot be read back as the bytes its digest names."""


# --- zstd -----------------------------------------------------------------------------------


def _params(
    level: int, size: int, dict_size: int, *, sized: bool
) -> zstd.ZstdCompressionParameters:
    """`level`'s parameters for this size, with a window that covers dictionary and data,
    and frames without magic number, checksum or dictionary id. `sized`: the frame says
    its content size (see SIZED)."""
    chosen = zstd.ZstdCompressionParameters.from_level(level, source_size=size, dict_size=dict_size)
    window = max(chosen.window_log, min((size + dict_size).bit_length(), _MAX_WINDOW_LOG))
    return zstd.ZstdCompressionParameters.from_level(
        level,
        source_size=size,
        dict_size=dict_size,
        window_log=window,
        write_checksum=False,
        write_content_size=sized,
        write_dict_id=False,
        format=_FORMAT,
    )


class _Dict:
    """Dictionary bytes, with their zstd objects made once."""

    def __init__(self, content: bytes) -> None:
        self.content = content
        # zstd needs a few bytes for a raw-content dictionary; both directions agree
        self.usable = len(content) >= 8
        self._plain: zstd.ZstdCompressionDict | None = None
        self._prepared: dict[int, tuple[zstd.ZstdCompressionDict, int]] = {}

    def plain(self) -> zstd.ZstdCompressionDict | None:
        if not self.usable:
            return None
        if self._plain is None:
            self._plain = zstd.ZstdCompressionDict(
                self.content, dict_type=zstd.DICT_TYPE_RAWCONTENT
            )
        return self._plain

    def encode(self, data: bytes, level: int, *, prepare: bool = False) -> bytes:
        """`data` as a frame at `level`. `prepare`: keep the dictionary's tables for this
        level (worth it for a family dictionary, used by put after put)."""
        sized = len(data) >= SIZED
        if not self.usable:
            params = _params(level, len(data), 0, sized=sized)
            return zstd.ZstdCompressor(compression_params=params).compress(data)
        found = self._prepared.get(level)
        if found is None and prepare:
            params = _params(level, 0, len(self.content), sized=False)
            tables = zstd.ZstdCompressionDict(self.content, dict_type=zstd.DICT_TYPE_RAWCONTENT)
            tables.precompute_compress(compression_params=params)
            found = self._prepared[level] = (tables, params.window_log)
        d: zstd.ZstdCompressionDict | None
        if found is not None and len(data) + len(self.content) <= 1 << found[1]:
            d, params = found[0], _params(level, 0, len(self.content), sized=sized)
        else:
            d = self.plain()
            params = _params(level, len(data), len(self.content), sized=sized)
        return zstd.ZstdCompressor(dict_data=d, compression_params=params).compress(data)

    def decode(self, frame: bytes, size: int) -> bytes:
        dctx = zstd.ZstdDecompressor(
            dict_data=self.plain(), format=_FORMAT, max_window_size=1 << _MAX_WINDOW_LOG
        )
        # A frame that says its size must say the row's (zstd would make room for any size
        # it says); one that does not is bounded by the row's size.
        said = zstd.get_frame_parameters(frame, format=_FORMAT).content_size
        if said != size and said != zstd.CONTENTSIZE_UNKNOWN:
            raise zstd.ZstdError(f"the frame says {said} bytes")
        return dctx.decompress(frame, max_output_size=max(size, 1))


_EMPTY = _Dict(b"")


class _FamilyCache:
    """Decoded family dictionaries, keyed by the digests of their seeds (so a key always
    means the same bytes), the least recently used dropped beyond FAMILY_CACHE bytes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[bytes, _Dict] = OrderedDict()
        self._bytes = 0

    def get(self, key: bytes) -> _Dict | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: bytes, value: _Dict) -> None:
        with self._lock:
            if key in self._items:
                return
            self._items[key] = value
            self._bytes += len(value.content)
            while self._bytes > FAMILY_CACHE and len(self._items) > 1:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped.content)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


_family_cache = _FamilyCache()


def digitsum(n: int) -> int:
    """`n % SKIP` plus the digits of `n // SKIP` in radix SKIP_HIGHER: version `n` of a line
    sits at most this many deltas above a blob stored without a base."""
    total = n % SKIP
    n //= SKIP
    while n:
        n, digit = divmod(n, SKIP_HIGHER)
        total += digit
    return total


# --- reading --------------------------------------------------------------------------------


class _Row(NamedTuple):
    id: int
    digest: bytes
    size: int
    n: int
    base_id: int | None
    dict_id: int | None
    data: bytes | None  # None: not fetched (a family seed, needed only if not cached)


# The rows a read needs, in one query: the blob, its base, the base's base..., with their
# frames; and the family seed any of them names, without its frame and without the seeds
# below it (the family's decoded dictionary is usually cached, found by that seed alone:
# `_Reader.family`). `seed` marks a row reached through a dictionary link; the walk stops
# there unless `stop` is empty (a blob's closure with frames: `_CLOSURE_OF_ID`). Each step looks up
# one row by its primary key (a scalar subquery, so no engine scans the table whatever its
# statistics say); UNION ends the walk at the first repeat, even where a damaged row names
# itself.
_CLOSURE = """
WITH RECURSIVE need(id, seed) AS (
    {start}
  UNION
    SELECT (SELECT CASE WHEN two.k = 0 THEN b.base_id ELSE b.dict_id END
            FROM blobs b WHERE b.id = need.id AND b.tenant_id = :t),
           CASE WHEN two.k = 0 THEN need.seed ELSE 1 END
    FROM need CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1 AS k) two
    WHERE need.id IS NOT NULL{stop}
)
SELECT b.id, b.digest, b.size, b.n, b.base_id, b.dict_id,
       CASE WHEN {with_data} THEN b.data END
FROM (SELECT id, min(seed) AS seed FROM need WHERE id IS NOT NULL GROUP BY id) w
JOIN blobs b ON b.id = w.id
WHERE b.tenant_id = :t
"""
_BY_DIGEST = f"SELECT id FROM blobs WHERE tenant_id = :t AND substr(digest, 1, {PREFIX}) = :p"
_CHAIN_OF_DIGEST = text(
    _CLOSURE.format(
        start=f"SELECT id, 0 FROM blobs WHERE tenant_id = :t "
        f"AND substr(digest, 1, {PREFIX}) = :p AND digest = :d",
        with_data="w.seed = 0",
        stop=" AND need.seed = 0",
    )
)
_CLOSURE_OF_ID = text(
    _CLOSURE.format(start="SELECT CAST(:i AS INTEGER), 0", with_data="1 = 1", stop="")
)
_FIND = text(_BY_DIGEST + " AND digest = :d LIMIT 1")


def _as_rows(raw: Iterable[Sequence[Any]]) -> dict[int, _Row]:
    return {
        r[0]: _Row(r[0], bytes(r[1]), r[2], r[3], r[4], r[5], None if r[6] is None else bytes(r[6]))
        for r in raw
    }


class _Reader:
    """Decodes a tenant's blobs, fetching the rows it needs that it does not have.

    `cached`: use (and fill) the process's cache of family dictionaries. `check`: re-hash
    every blob decoded on the way, not only those asked for (verification does).
    `keep`: bytes of decoded blobs to keep between reads, the oldest dropped first (0: all).
    """

    def __init__(
        self,
        session: Session,
        tenant_id: int,
        *,
        cached: bool = True,
        check: bool = False,
        keep: int = 0,
    ) -> None:
        self.session = session
        self.tenant_id = tenant_id
        #: which database, for the family cache's key (none for an in-memory one: its URL
        #: does not tell one from another)
        url = session.get_bind().engine.url
        self.where = None if url.database in (None, "", ":memory:") else str(url)
        self.rows: dict[int, _Row] = {}
        self.decoded: OrderedDict[int, bytes] = OrderedDict()
        self.families: dict[int, _Dict] = {}
        self.cached = cached
        self.check = check
        self.keep = keep
        self._kept = 0
        self._family_bytes = 0

    def add(self, raw: Iterable[Sequence[Any]]) -> None:
        for row_id, row in _as_rows(raw).items():
            if row.data is not None or row_id not in self.rows:
                self.rows[row_id] = row

    def row(self, blob_id: int, of: _Row | None, *, data: bool = True) -> _Row:
        found = self.rows.get(blob_id)
        if found is None or (data and found.data is None):
            self.add(driver_rows(self.session, _CLOSURE_OF_ID, {"t": self.tenant_id, "i": blob_id}))
            found = self.rows.get(blob_id)
        if found is None:
            what = f"blob {of.digest.hex()} names blob id {blob_id}" if of else f"blob {blob_id}"
            raise BlobError(f"{what}, which this tenant does not have")
        if of is not None and blob_id >= of.id:
            raise BlobError(f"blob {of.digest.hex()} names a later blob (id {blob_id})")
        return found

    def family(self, seed_id: int, of: _Row | None) -> _Dict:
        """The dictionary of the family seeds up to `seed_id`: their bytes, oldest first."""
        found = self.families.get(seed_id)
        if found is not None:
            return found
        # A seed's row never changes once committed, and the seeds below it are older rows
        # it names, so (database, tenant, seed id, seed digest) names the dictionary's bytes:
        # a hit needs no walk down the seeds. (The digest guards an id that a rolled-back
        # put used for another seed.)
        top = self.row(seed_id, of, data=False)
        quick = hashlib.sha256(
            f"{self.where}\x00{self.tenant_id}\x00{seed_id}\x00".encode() + top.digest
        ).digest()
        if self.cached and self.where is not None:
            hit = _family_cache.get(quick)
            if hit is not None:
                self.families[seed_id] = hit
                return hit
        chain: list[_Row] = []
        at: int | None = seed_id
        child = of
        while at is not None:
            row = self.row(at, child, data=False)
            chain.append(row)
            if len(chain) > FAMILY_SEEDS:
                raise BlobError(f"blob {chain[0].digest.hex()}: its family has too many seeds")
            child, at = row, row.dict_id
        chain.reverse()
        # Each prefix of the seeds is keyed by a hash chain over their digests.
        keys: list[bytes] = []
        for row in chain:
            keys.append(hashlib.sha256((keys[-1] if keys else b"") + row.digest).digest())
        start, below = 0, _EMPTY
        for i in reversed(range(len(chain))):
            hit = self.families.get(chain[i].id)
            if hit is None and self.cached:
                hit = _family_cache.get(keys[i])
            if hit is not None:
                start, below = i + 1, hit
                self.families[chain[i].id] = hit
                break
        if any(r.data is None for r in chain[start:]):
            # one query for the frames of all the seeds still to decode
            params = {"t": self.tenant_id, "i": chain[-1].id}
            self.add(driver_rows(self.session, _CLOSURE_OF_ID, params))
        for i in range(start, len(chain)):
            content = self._decode(self.row(chain[i].id, None), below, checked=True)
            below = _Dict(below.content + content)
            self._remember_family(chain[i].id, below)
            if self.cached:
                _family_cache.put(keys[i], below)
        if self.cached and self.where is not None:
            _family_cache.put(quick, below)
        return below

    def blob(self, row: _Row, *, checked: bool = True) -> bytes:
        """The bytes of `row`'s blob; `checked`: re-hashed against its digest."""
        found = self.decoded.get(row.id)
        if found is not None:
            return found
        # The base chain, walked down to a blob without a base (or one already decoded),
        # then decoded upwards: no recursion, however deep a damaged chain is.
        chain = [row]
        while chain[-1].base_id is not None and chain[-1].base_id not in self.decoded:
            chain.append(self.row(chain[-1].base_id, chain[-1]))
        below: bytes | None = None  # the blob decoded just before: the next one's base
        for r in reversed(chain):
            dictionary = self.family(r.dict_id, r) if r.dict_id is not None else _EMPTY
            if r.base_id is not None:
                base = self.decoded[r.base_id] if below is None else below
                dictionary = _Dict(dictionary.content + base)
            below = self._decode(
                self.row(r.id, None), dictionary, checked=self.check or (checked and r is row)
            )
            self._remember(r.id, below)
        assert below is not None
        return below

    def _decode(self, r: _Row, dictionary: _Dict, *, checked: bool) -> bytes:
        assert r.data is not None
        try:
            content = dictionary.decode(r.data, r.size)
        except zstd.ZstdError as exc:
            raise BlobError(f"blob {r.digest.hex()} does not decode: {exc}") from None
        if len(content) != r.size:
            raise BlobError(f"blob {r.digest.hex()} decodes to {len(content)} bytes, not {r.size}")
        if checked and hashlib.sha256(content).digest() != r.digest:
            raise BlobError(f"blob {r.digest.hex()} does not match its digest")
        return content

    def _remember_family(self, seed_id: int, dictionary: _Dict) -> None:
        self._family_bytes += len(dictionary.content)
        if self.keep and self._family_bytes > self.keep:
            self.families.clear()
            self._family_bytes = len(dictionary.content)
        self.families[seed_id] = dictionary

    def _remember(self, blob_id: int, content: bytes) -> None:
        self.decoded[blob_id] = content
        if not self.keep:
            return
        self._kept += len(content)
        while self._kept > self.keep and len(self.decoded) > 1:
            _, dropped = self.decoded.popitem(last=False)
            self._kept -= len(dropped)


def _digest_bytes(field: str, digest: str) -> bytes:
    if not isinstance(digest, str) or not _HEX(digest):
        raise Invalid.one(field, "must be a SHA-256 digest: 64 lowercase hexadecimal characters")
    return bytes.fromhex(digest)


def _chain(reader: _Reader, digest: bytes) -> _Row:
    """Load the rows for reading the blob with `digest` into `reader`; its row."""
    params = {"t": reader.tenant_id, "p": digest[:PREFIX], "d": digest}
    reader.add(driver_rows(reader.session, _CHAIN_OF_DIGEST, params))
    matches = [r for r in reader.rows.values() if r.digest == digest and r.data is not None]
    if not matches:
        raise LookupError(f"no blob {digest.hex()}")
    return min(matches, key=lambda r: r.id)


def get(session: Session, tenant_id: int, digest: str) -> bytes:
    """The bytes stored under `digest` for the tenant; LookupError if it has none.

    Raises BlobError if the stored rows no longer decode to bytes with that digest.
    """
    key = _digest_bytes("digest", digest)
    reader = _Reader(session, tenant_id)
    return reader.blob(_chain(reader, key))


def exists(session: Session, tenant_id: int, digest: str) -> bool:
    """Whether the tenant has a blob with this digest."""
    return _find(session, tenant_id, _digest_bytes("digest", digest)) is not None


def _find(session: Session, tenant_id: int, digest: bytes) -> int | None:
    found = driver_rows(session, _FIND, {"t": tenant_id, "p": digest[:PREFIX], "d": digest})
    return int(found[0][0]) if found else None


# --- writing --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Candidate:
    dictionary: _Dict
    base_id: int | None
    dict_id: int | None
    prepare: bool = False  # a family dictionary: keep its tables

    def encode(self, data: bytes, level: int) -> bytes:
        return self.dictionary.encode(data, level, prepare=self.prepare)


def _base_chain(reader: _Reader, start: _Row) -> list[tuple[_Row, int]]:
    """The base chain from `start` down, each blob with its depth (how many deltas it sits
    above a blob without a base)."""
    chain = [start]
    while chain[-1].base_id is not None:
        chain.append(reader.row(chain[-1].base_id, chain[-1]))
    depth = len(chain) - 1
    return [(row, depth - i) for i, row in enumerate(chain)]


def _lock_digest(session: Session, tenant_id: int, digest: bytes) -> None:
    """On PostgreSQL, keep two transactions putting the same new bytes at once from both
    storing them. A try-lock: it never waits, so it cannot deadlock; the rare loser of a
    race stores a duplicate row, which reads and verifies like the first."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite runs one writing transaction at a time
    mixed = hashlib.sha256(tenant_id.to_bytes(8, "big") + digest).digest()
    key = int.from_bytes(mixed[:8], "big", signed=True)
    session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key})


def _family(session: Session, tenant_id: int, name: str) -> tuple[int | None, int, int]:
    """(last seed id, seeds, seed bytes) of the family, created empty if new."""
    f = _families.c
    query = select(f.seed_id, f.seeds, f.seed_bytes).where(f.tenant_id == tenant_id, f.name == name)
    found = session.execute(query).first()
    if found is None:
        row = {"tenant_id": tenant_id, "name": name, "seed_id": None, "seeds": 0, "seed_bytes": 0}
        dialect = session.get_bind().dialect.name
        insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
        # Two first puts of a family can race: the loser waits for the winner's row.
        session.execute(insert(_families).values(row).on_conflict_do_nothing())
        found = session.execute(query).one()
    return found[0], found[1], found[2]


def put(
    session: Session,
    tenant_id: int,
    data: bytes,
    *,
    base: str | None = None,
    family: str | None = None,
) -> str:
    """Store `data` for the tenant (once: the same bytes again store nothing) and return its
    SHA-256 digest in hex.

    `base`: the digest of a related blob of the tenant's, the previous version of the same
    document, to encode against. `family`: the name of a family of similar blobs (e.g.
    "screen:<offer product>/<screen name>") whose shared dictionary to encode against.
    Runs in the caller's transaction.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise Invalid.one("data", "must be bytes")
    data = bytes(data)
    if len(data) > MAX_SIZE:
        raise Invalid.one("data", f"larger than {MAX_SIZE // (1024 * 1024)} MiB")
    if family is not None and not (isinstance(family, str) and 0 < len(family) <= 200):
        raise Invalid.one("family", "must be a name of 1 to 200 characters")
    base_key = _digest_bytes("base", base) if base is not None else None
    digest = hashlib.sha256(data).digest()
    if _find(session, tenant_id, digest) is not None:
        return digest.hex()
    _lock_digest(session, tenant_id, digest)
    if _find(session, tenant_id, digest) is not None:
        return digest.hex()

    reader = _Reader(session, tenant_id)
    candidates: list[_Candidate] = []
    n = 0
    if base_key is not None:
        try:
            parent = _chain(reader, base_key)
        except LookupError:
            raise Invalid.one("base", f"the tenant has no blob {base}") from None
        n = parent.n + 1
        bound = digitsum(n)
        eligible = [row for row, depth in _base_chain(reader, parent) if depth < bound]
        candidates += [
            _Candidate(_Dict(reader.blob(row)), row.id, None) for row in eligible[:CANDIDATES]
        ]
    seed: tuple[int | None, int, int] | None = None
    if family is not None:
        seed = _family(session, tenant_id, family)
        fam = reader.family(seed[0], None) if seed[0] is not None else _EMPTY
        candidates.append(_Candidate(fam, None, seed[0], prepare=True))
    elif base_key is None:
        candidates.append(_Candidate(_EMPTY, None, None))

    trials = sorted(
        ((len(c.encode(data, TRIAL_LEVEL)), i) for i, c in enumerate(candidates)),
    )
    best = candidates[trials[0][1]]
    if best.base_id is not None:
        # A large delta: the family's seeds may hold what the base does not, or a plain
        # frame may do better (a rewrite).
        if trials[0][0] * RETRY >= len(data) and seed is not None and seed[0] is not None:
            both = _Dict(fam.content + best.dictionary.content)
            candidates.append(_Candidate(both, best.base_id, seed[0]))
        if trials[0][0] * NOVEL >= len(data) and seed is None:
            candidates.append(_Candidate(_EMPTY, None, None))
        if len(candidates) > len(trials):
            trials += [
                (len(c.encode(data, TRIAL_LEVEL)), len(trials) + i)
                for i, c in enumerate(candidates[len(trials) :])
            ]
            trials.sort()
    # The smallest at LEVEL among those close at the trial level; on a tie, the one that
    # needs the fewest other blobs to read.
    finals = [
        (len(frame), c.base_id is not None, c.dict_id is not None, i, frame)
        for size, i in trials
        if size <= trials[0][0] * 1.1 + 8
        for c in [candidates[i]]
        for frame in [c.encode(data, LEVEL)]
    ]
    _, _, _, index, frame = min(finals)
    choice = candidates[index]
    new_id = session.execute(
        _blobs.insert()
        .values(
            tenant_id=tenant_id,
            digest=digest,
            size=len(data),
            n=n if choice.base_id is not None else 0,
            base_id=choice.base_id,
            dict_id=choice.dict_id,
            data=frame,
        )
        .returning(_blobs.c.id)
    ).scalar_one()
    novel = len(frame) * NOVEL > len(data) >= 64
    if seed is not None and choice.base_id is None and novel:
        _add_seed(session, tenant_id, cast(str, family), seed, new_id, len(data))
    return digest.hex()


def _add_seed(
    session: Session,
    tenant_id: int,
    family: str,
    seed: tuple[int | None, int, int],
    new_id: int,
    size: int,
) -> None:
    """Make the new blob the family's latest seed if the dictionary has room. Only if the
    family is as it was when the blob was encoded against it: a concurrent put that seeded
    it first wins, and this blob stays an ordinary member."""
    seed_id, seeds, seed_bytes = seed
    if seeds >= FAMILY_SEEDS or seed_bytes + size > FAMILY_BUDGET:
        return
    f = _families.c
    session.execute(
        update(_families)
        .where(
            f.tenant_id == tenant_id,
            f.name == family,
            f.seed_id.is_(None) if seed_id is None else f.seed_id == seed_id,
        )
        .values(seed_id=new_id, seeds=seeds + 1, seed_bytes=seed_bytes + size)
    )


# --- integrity and size ---------------------------------------------------------------------

Progress = Callable[[int], None]

_PAGE_OF_ROWS = text(
    "SELECT id, digest, size, n, base_id, dict_id, data FROM blobs "
    "WHERE tenant_id = :t AND id > :after ORDER BY id LIMIT :limit"
)


def verify_blobs(
    session: Session, tenant_id: int, progress: Progress | None = None, *, limit: int = 100
) -> list[str]:
    """Decode every blob of the tenant from its stored rows and re-hash its bytes.

    Returns the problems found, the first first: a blob that does not match its digest,
    does not decode, or names a blob the tenant does not have; then blobs that depend on a
    damaged one. [] when every blob is sound. At most `limit` problems are listed.

    What is checked is each blob's bytes: a frame changed so that it still decodes to the
    very same bytes (a bit of its header declaring the window size, say) changes no
    evidence and is not a problem.
    """
    problems: list[str] = []
    # Bases and seeds are older than the blobs that name them, so in id order they are
    # among the recently decoded (up to 64 MiB of them kept) or fetched again.
    reader = _Reader(session, tenant_id, cached=False, check=True, keep=64 * 1024 * 1024)
    damaged: set[int] = set()
    after = 0
    while True:
        page = driver_rows(session, _PAGE_OF_ROWS, {"t": tenant_id, "after": after, "limit": 500})
        if not page:
            break
        reader.add(page)
        for raw in page:
            row = reader.rows[raw[0]]
            after = row.id
            if {row.base_id, row.dict_id} & damaged:
                damaged.add(row.id)
                problems.append(f"blob {row.digest.hex()} depends on a damaged blob")
            else:
                try:
                    reader.blob(row)
                except BlobError as exc:
                    damaged.add(row.id)
                    problems.append(str(exc))
            if len(problems) >= limit:
                problems.append("(stopped after the first problems)")
                return problems
        # Rows whose bytes are at hand are not needed (fetched again if those are dropped).
        for blob_id in [i for i in reader.rows if i in reader.decoded]:
            del reader.rows[blob_id]
        if progress:
            progress(len(page))
    return problems


def count(session: Session, tenant_id: int) -> int:
    """How many blobs the tenant has."""
    b = _blobs.c
    return int(session.scalar(select(func.count()).where(b.tenant_id == tenant_id)) or 0)


def storage_bytes(session: Session) -> int:
    """Bytes on disk that the blob store's tables and indexes take (all tenants): whole
    pages, the free space in them included."""
    if session.get_bind().dialect.name == "sqlite":
        names = ["blobs", "ix_blobs_digest", "blob_families", "sqlite_autoindex_blob_families_1"]
        stmt = text("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN :names")
        stmt = stmt.bindparams(bindparam("names", expanding=True))
        return int(session.scalar(stmt, {"names": names}) or 0)
    both = "SELECT pg_total_relation_size('blobs') + pg_total_relation_size('blob_families')"
    return int(session.scalar(text(both)) or 0)


@dataclass(frozen=True)
class Usage:
    blobs: int
    raw_bytes: int
    frame_bytes: int


def usage(session: Session, tenant_id: int) -> Usage:
    """How many blobs the tenant has, the bytes they hold, and the bytes of their frames."""
    b = _blobs.c
    found = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(b.size), 0),
            func.coalesce(func.sum(func.length(b.data)), 0),
        ).where(b.tenant_id == tenant_id)
    ).one()
    return Usage(int(found[0]), int(found[1]), int(found[2]))
