"""How journal entries are kept at rest: zstd against a dictionary trained on the tenant's
own log.

An entry is about 700 bytes of canonical JSON, most of it the same keys, the tenant's id,
actors and kinds over and over: compressed alone it barely shrinks, against a dictionary
trained on earlier entries of the same log it keeps about a sixth. What is hashed, proven,
exported and verified is always the canonical bytes: the leaf hash is SHA-256 of them,
and every reader gets them back through `decode`. Only the stored column changes.

- A tenant's first `TRAIN_AT` entries are stored as they are. The append that reaches it
  trains a dictionary on the log so far (up to `SAMPLE` entries), and from then on every
  entry is one zstd frame (no magic, no checksum: the leaf hash checks it). It trains
  again, on the latest entries, whenever the log has grown `RETRAIN` times since, so the
  dictionary follows what the tenant records.
- Dictionaries are rows of ``journal_dictionaries``, never changed. Their id is taken
  from their own SHA-256, so a process may cache them by (database, tenant, id) and never
  be wrong, even about one trained in a transaction that then rolled back.
- ``journal_entries.dictionary_id`` names the dictionary of each entry (NULL: stored
  plain); ``log_heads.dictionary_id`` the one appends use now.

Why our own and not the database's: SQLite stores pages as they are, and PostgreSQL only
compresses values over 2 KB (TOAST), each on its own, which does nothing for 700 bytes.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from hashlib import sha256

import zstandard as zstd
from sqlalchemy import BigInteger, Connection, ForeignKey, Integer, LargeBinary, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from accord.store.db import Base

#: the size of the log at which a tenant's first dictionary is trained
TRAIN_AT = 1024
#: trained again each time the log has grown this many times since the last training
RETRAIN = 16
#: the most entries a dictionary is trained on (the latest ones)
SAMPLE = 2048
#: bytes of a dictionary: more gained nothing on real entries (tried 8, 32, 64 KB)
DICT_BYTES = 8192
#: zstd level: level 1 against the dictionary keeps 133 bytes of a 750-byte entry, level
#: 9 keeps 125 at five times the time; appends are the hot path
LEVEL = 1
_FORMAT = zstd.FORMAT_ZSTD1_MAGICLESS


class JournalDictionary(Base):
    """A zstd dictionary trained on a tenant's journal entries (see the module)."""

    __tablename__ = "journal_dictionaries"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    #: the first 31 bits of the dictionary's SHA-256: the same id is the same bytes
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: the size of the log when it was trained (when to train again)
    trained_at_size: Mapped[int] = mapped_column(BigInteger)
    dictionary: Mapped[bytes] = mapped_column(LargeBinary)


@dataclass(frozen=True)
class Codec:
    """One dictionary, ready to compress and decompress."""

    id: int
    trained_at_size: int
    compressor: zstd.ZstdCompressor
    decompressor: zstd.ZstdDecompressor

    def encode(self, raw: bytes) -> bytes:
        return self.compressor.compress(raw)

    def decode(self, stored: bytes) -> bytes:
        return self.decompressor.decompress(stored)


def dictionary_id(dictionary: bytes) -> int:
    return int.from_bytes(sha256(dictionary).digest()[:4], "big") & 0x7FFFFFFF


def decompressor(dictionary: bytes) -> zstd.ZstdDecompressor:
    """A decompressor for the frames stored against `dictionary`."""
    return zstd.ZstdDecompressor(dict_data=zstd.ZstdCompressionDict(dictionary), format=_FORMAT)


def _codec(id_: int, trained_at_size: int, dictionary: bytes) -> Codec:
    cdict = zstd.ZstdCompressionDict(dictionary)
    return Codec(
        id_,
        trained_at_size,
        zstd.ZstdCompressor(
            dict_data=cdict,
            compression_params=zstd.ZstdCompressionParameters.from_level(
                LEVEL,
                dict_size=len(dictionary),
                format=_FORMAT,
                write_checksum=False,
                write_dict_id=False,
                write_content_size=True,
            ),
        ),
        decompressor(dictionary),
    )


# (tenant id, dictionary id) -> Codec, per database engine: a dictionary never changes and
# its id is its hash, so nothing here can go stale.
_cache: weakref.WeakKeyDictionary[Engine, dict[tuple[int, int], Codec]] = (
    weakref.WeakKeyDictionary()
)


def _engine(session: Session) -> Engine:
    """The engine behind the session, also when it is bound to one connection (a
    verification's snapshot)."""
    bind = session.get_bind()
    return bind.engine if isinstance(bind, Connection) else bind


def _cached(session: Session) -> dict[tuple[int, int], Codec]:
    engine = _engine(session)
    found = _cache.get(engine)
    if found is None:
        found = _cache[engine] = {}
    return found


def codec(session: Session, tenant_id: int, id_: int) -> Codec:
    """The tenant's dictionary `id_` (KeyError when it has none of that id)."""
    cache = _cached(session)
    found = cache.get((tenant_id, id_))
    if found is None:
        row = session.get(JournalDictionary, (tenant_id, id_))
        if row is None:
            raise KeyError(f"no journal dictionary {id_}")
        dictionary = bytes(row.dictionary)
        found = _codec(id_, row.trained_at_size, dictionary)
        if dictionary_id(dictionary) == id_:  # an altered row is used, never remembered
            cache[(tenant_id, id_)] = found
    return found


def decode(session: Session, tenant_id: int, stored: bytes, id_: int | None) -> bytes:
    """An entry's canonical bytes from what its row stores."""
    if id_ is None:
        return bytes(stored)
    return codec(session, tenant_id, id_).decode(bytes(stored))


def decode_rows(
    session: Session, tenant_id: int, rows: Sequence[tuple[bytes, int | None]]
) -> list[bytes]:
    """`decode` for many (stored, dictionary id) pairs."""
    out = []
    last: Codec | None = None
    for stored, id_ in rows:
        if id_ is None:
            out.append(bytes(stored))
            continue
        if last is None or last.id != id_:
            last = codec(session, tenant_id, id_)
        out.append(last.decode(bytes(stored)))
    return out


# (tenant id) -> the log size at which training last failed, per engine: tried again only
# once the log has doubled, so a log zstd cannot learn from does not retrain on every append
_failed: weakref.WeakKeyDictionary[Engine, dict[int, int]] = weakref.WeakKeyDictionary()


def due(session: Session, tenant_id: int, current: Codec | None, size: int) -> bool:
    """Whether an append that takes the log to `size` entries trains a new dictionary."""
    engine = _engine(session)
    failed = _failed.get(engine, {}).get(tenant_id)
    if failed is not None and size < 2 * failed:
        return False
    if current is None:
        return size >= TRAIN_AT
    return size >= current.trained_at_size * RETRAIN


def train(session: Session, tenant_id: int, samples: Sequence[bytes], size: int) -> Codec | None:
    """Train a dictionary on `samples` (canonical entries) and keep it; None when zstd
    finds nothing to learn from them (too few or too alike), and entries stay as before."""
    try:
        trained = zstd.train_dictionary(DICT_BYTES, list(samples)).as_bytes()
    except zstd.ZstdError:
        engine = _engine(session)
        _failed.setdefault(engine, {})[tenant_id] = size
        return None
    id_ = dictionary_id(trained)
    cache = _cached(session)
    if session.get(JournalDictionary, (tenant_id, id_)) is None:
        session.add(
            JournalDictionary(tenant_id=tenant_id, id=id_, trained_at_size=size, dictionary=trained)
        )
        session.flush()
    found = _codec(id_, size, trained)
    cache[(tenant_id, id_)] = found
    return found


def latest_entries(session: Session, tenant_id: int, size: int, count: int) -> list[bytes]:
    """The canonical bytes of the last `count` entries of a log of `size` entries."""
    from accord.store.journal import JournalEntry  # the table lives with the journal

    rows = session.execute(
        select(JournalEntry.entry, JournalEntry.dictionary_id).where(
            JournalEntry.tenant_id == tenant_id,
            JournalEntry.seq >= max(0, size - count),
            JournalEntry.seq < size,
        )
    ).all()
    return decode_rows(session, tenant_id, [(r[0], r[1]) for r in rows])
