"""Engines, sessions and the column types every table uses.

Times are stored as integer microseconds since the Unix epoch, UTC: exact on both
engines, totally ordered, and cheap to index. An open-ended interval ends at FOREVER.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Engine, MetaData, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.types import TypeDecorator

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FOREVER = datetime.max.replace(tzinfo=UTC)


def to_micros(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("naive datetime: Accord stores UTC instants only")
    return (value - EPOCH) // timedelta(microseconds=1)


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcMicros(TypeDecorator[datetime]):
    """An aware UTC datetime stored as BIGINT microseconds since the epoch."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | str | None, dialect: Dialect) -> int | None:
        if isinstance(value, str):  # a versioned field as the journal entry carries it
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return None if value is None else to_micros(value)

    def process_result_value(self, value: int | None, dialect: Dialect) -> datetime | None:
        return None if value is None else from_micros(value)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with Accord's settings for its dialect.

    SQLite: WAL, synchronous=FULL (an acknowledged write survives power loss), a 64 MiB
    page cache, WAL checkpoints every 40 MiB, foreign keys on, and transactions begun by us
    so that a writing unit of work can take the write lock up front (BEGIN IMMEDIATE)
    instead of failing to upgrade a stale snapshot.
    """
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {})
        kwargs["connect_args"].setdefault("check_same_thread", False)
        kwargs["connect_args"].setdefault("timeout", 30)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            if ":memory:" not in url and url.rstrip("/") != "sqlite:":
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            # 64 MiB of page cache (the default is 2 MiB): appends update indexes keyed by
            # random entity ids, whose pages should stay in memory as the journal grows.
            cur.execute("PRAGMA cache_size=-65536")
            # Checkpoint the WAL every 10,000 pages (40 MiB), not 1,000: a batch of appends
            # dirties many index pages, and checkpointing after nearly every commit wrote
            # each of them to the database file (and synced it) again and again.
            cur.execute("PRAGMA wal_autocheckpoint=10000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


class Database:
    """One engine and its two kinds of session: reading, and writing (one unit of work)."""

    def __init__(self, url: str, **kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **kwargs)
        self._read = sessionmaker(bind=self.engine, expire_on_commit=False)
        write_bind = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        self._write = sessionmaker(bind=write_bind, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def reading(self, *, detach: bool = False) -> Iterator[Session]:
        """A read-only session, rolled back at the end. With `detach`, what was read stays
        readable afterwards (the rollback would expire it): for pages and answers built
        from the records after the read."""
        with self._read() as session:
            try:
                yield session
                if detach:
                    session.expunge_all()
            finally:
                session.rollback()

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """A session whose work is committed once at the end, or not at all."""
        with self._write() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()


# --- hot paths -------------------------------------------------------------------------------

_compiled: dict[
    tuple[ClauseElement, str, str], tuple[str, tuple[str, ...] | None, dict[str, Any]]
] = {}


def _sql_for(
    session: Session, stmt: ClauseElement
) -> tuple[Any, str, tuple[str, ...] | None, dict[str, Any]]:
    """(DB-API connection, SQL, positional parameter order or None, bound defaults)."""
    driver, dialect = _driver(session)
    key = (stmt, dialect.name, dialect.paramstyle)
    found = _compiled.get(key)
    if found is None:
        compiled: Any = stmt.compile(dialect=dialect)  # a SQLCompiler: it has positiontup
        order = compiled.positiontup if dialect.positional else None
        found = _compiled[key] = (
            str(compiled),
            None if order is None else tuple(order),
            dict(compiled.params),
        )
    return (driver, *found)


def _driver(session: Session) -> tuple[Any, Dialect]:
    """The session's DB-API connection and dialect, kept in `session.info` for as long as
    its transaction lasts: `Session.connection()` costs as much as a lookup by key."""
    transaction = session.get_transaction()
    kept = session.info.get("accord.driver")
    if transaction is None or kept is None or kept[0] is not transaction:
        conn = session.connection()
        kept = (session.get_transaction(), conn.connection.driver_connection, conn.dialect)
        session.info["accord.driver"] = kept
    return kept[1], kept[2]


def driver_rows(
    session: Session, stmt: ClauseElement, params: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """All rows of `stmt`, run on the DB-API cursor in the session's transaction.

    For the few hot paths (verification, proofs) that read many rows of integers, bytes and
    text: SQLAlchemy's per-row result machinery costs more than the database there, and
    those types need no result processing. `stmt` must be a long-lived object (it keys a
    cache of its SQL per dialect) with plain bound parameters (no expanding IN).
    """
    driver, sql, order, defaults = _sql_for(session, stmt)
    values = {**defaults, **params}
    cursor = driver.cursor()
    try:
        cursor.execute(sql, values if order is None else [values[n] for n in order])
        return cursor.fetchall()  # type: ignore[no-any-return]
    finally:
        cursor.close()


def driver_executemany(
    session: Session, stmt: ClauseElement, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Run `stmt` once per row on the DB-API cursor (a prepared executemany).

    For appends, the write hot path: rows are tuples of plain integers, bytes and text in
    the order of `columns`, which must be all of `stmt`'s parameters.
    """
    driver, sql, order, _ = _sql_for(session, stmt)
    if order is not None:
        position = [columns.index(name) for name in order]
        if position != list(range(len(columns))):
            rows = [[row[i] for i in position] for row in rows]
    else:
        rows = [dict(zip(columns, row, strict=True)) for row in rows]  # type: ignore[misc]
    cursor = driver.cursor()
    try:
        cursor.executemany(sql, rows)
    finally:
        cursor.close()
