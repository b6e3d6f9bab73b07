"""The connection to the database: the engine, its transactions, and outages named as such.

Every entity module reads and writes through a `Database`: `read()` for a snapshot, `write()`
for a transaction that will write. An outage (a server away, a read-only or full disk) becomes
`StoreUnavailable` here, once for all of them; a connection that failed is never reused.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from monitor.errors import StoreError, StoreUnavailable

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite

# The PostgreSQL advisory locks that serialise story assignment and migrations across replicas.
STORY_LOCK_KEY = 0x6E6D7374  # "nmst"
MIGRATION_LOCK_KEY = 0x6E6D6D67  # "nmmg"
# Marks a connection that will write: on SQLite it takes the write lock at BEGIN (IMMEDIATE),
# waiting out busy_timeout, instead of failing when a read turns into a write.
_WRITES = "news_monitor_writes"


class Database:
    """An engine and its two kinds of transaction; what each entity object is handed.

    A database bound to a connection (`bound`) runs every read and write in that connection's
    transaction, so entity methods called through it commit together.
    """

    def __init__(self, engine: Engine, conn: Connection | None = None) -> None:
        self.engine = engine
        self.writer = engine.execution_options(**{_WRITES: True})
        self.conn = conn

    def read(self) -> contextlib.AbstractContextManager[Connection]:
        """Open a connection for reading (a snapshot on SQLite; never blocks a writer)."""
        if self.conn is not None:
            return contextlib.nullcontext(self.conn)
        return self.engine.connect()

    def write(self) -> contextlib.AbstractContextManager[Connection]:
        """Begin a transaction that will write (on SQLite it takes the write lock at once)."""
        if self.conn is not None:
            return contextlib.nullcontext(self.conn)
        return self.writer.begin()

    def bound(self, conn: Connection) -> Database:
        """This database with every read and write inside `conn`'s transaction."""
        return Database(self.engine, conn)

    @property
    def dialect(self) -> str:
        """The backend's name: sqlite or postgresql."""
        return self.engine.dialect.name

    @contextlib.contextmanager
    def advisory_lock(self, key: int) -> Iterator[None]:
        """Hold PostgreSQL advisory lock `key` on a connection of its own; no-op on SQLite."""
        if self.dialect != "postgresql":
            yield
            return
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": key})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                conn.commit()


def connect(url: str) -> Engine:
    """Return an engine for `url`; on SQLite every transaction starts with our own BEGIN.

    Raises `StoreError` naming the database (never its password) when the URL cannot be used.
    """
    try:
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        # A connection that failed a ping (the server restarted) is replaced, not handed out.
        engine = sa.create_engine(url, pool_pre_ping=True)
    except (sa.exc.ArgumentError, ImportError, OSError) as exc:
        raise StoreError(f"cannot use the database {safe_url(url)}: {reason(exc, url)}") from None
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_connect)
        sa.event.listen(engine, "begin", _sqlite_begin)
    sa.event.listen(engine, "handle_error", _Outages(url))
    return engine


def safe_url(url: str) -> str:
    """Return a database URL fit to show: the password replaced by ***."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "(an unreadable database URL)"


def reason(exc: BaseException, url: str) -> str:
    """The first line of a driver's error, with the URL's password (if any) removed."""
    message = str(getattr(exc, "orig", None) or exc).strip()
    text = message.splitlines()[0] if message else ""
    try:
        password = sa.engine.make_url(url).password
    except sa.exc.ArgumentError:
        password = None
    if password:
        text = text.replace(str(password), "***")
    return text or type(exc).__name__


# SQLite reports an outage (a read-only or full disk, a vanished directory, a lock held too
# long) with the same exception class as a bad statement; these words tell them apart.
_SQLITE_OUTAGES = (
    "readonly",
    "read-only",
    "unable to open",
    "disk i/o",
    "disk is full",
    "database is locked",
    "locking protocol",
)


class _Outages:
    """Raise `StoreUnavailable` for a database that is away, and drop the connection it used.

    Dropping matters: a SQLite connection opened while the directory was read-only stays
    read-only, and a PostgreSQL connection to a restarted server is dead; neither may go back
    to the pool (SQLAlchemy invalidates the pool when `is_disconnect` is set).
    """

    def __init__(self, url: str) -> None:
        self.url = url

    def __call__(self, context: sa.engine.ExceptionContext) -> None:
        if context.is_pre_ping:  # the pool replaces the connection on its own
            return
        error = context.sqlalchemy_exception
        if not isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError):
            return
        why = reason(context.original_exception, self.url)
        on_sqlite = context.dialect is not None and context.dialect.name == "sqlite"
        if on_sqlite and not any(word in why.lower() for word in _SQLITE_OUTAGES):
            return  # a bad statement, i.e. a bug: let it show as one
        context.is_disconnect = True
        cursor = getattr(context.execution_context, "cursor", None)
        if cursor is not None:
            # An open statement would keep the dropped connection alive until the garbage
            # collector runs, and with it SQLite's read-only view of the files.
            with contextlib.suppress(Exception):
                cursor.close()
        raise StoreUnavailable(f"the database {safe_url(self.url)} is unavailable: {why}", why)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Python's sqlite3 driver opens transactions only before DML and commits DDL on its own, so
    # a migration and its version row, or a SAVEPOINT, would not be atomic. Autocommit mode
    # hands BEGIN to us (_sqlite_begin), as SQLAlchemy's SQLite dialect documents.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # Readers take a snapshot (deferred BEGIN, never blocking in WAL mode); writers take the
    # write lock up front, so busy_timeout applies instead of a read turning into SQLITE_BUSY.
    immediate = conn.get_execution_options().get(_WRITES, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def upserting(conn: Connection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """An insert that can say what to do on a conflict (ON CONFLICT, on both backends)."""
    # Each dialect imported when first used: a SQLite service never loads PostgreSQL's (20 ms).
    dialect = conn.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for {dialect}")


def insert_ignoring(conn: Connection, table: sa.Table) -> sa.Insert:
    """An insert that skips rows whose primary key exists (race-free on both backends)."""
    return upserting(conn, table).on_conflict_do_nothing()


def insert_ignore(conn: Connection, table: sa.Table, values: dict[str, Any]) -> None:
    """Insert a row unless one with its primary key exists (race-free on both backends)."""
    conn.execute(insert_ignoring(conn, table).values(**values))


def utc(value: datetime | None) -> datetime | None:
    """Return a time read back from the database as UTC (SQLite hands back naive ones)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def chunks(items: list[str], size: int) -> Iterable[list[str]]:
    """Split `items` into lists of at most `size`, to keep an IN (...) within driver limits."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
