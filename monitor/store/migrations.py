"""Bring a database's schema up to this release's: one version at a time, each all or nothing.

Each migration and the row recording it commit in one transaction (on SQLite too: the store
issues BEGIN itself, so DDL is transactional there). A database left half-migrated by an older
release, which committed DDL on its own, is completed rather than re-run into an error: every
step looks before it creates or adds. Before an existing SQLite database is upgraded, a
consistent copy is taken next to it; a database newer than this code is refused untouched.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from monitor.errors import StoreError
from monitor.store.schema import (
    alerts,
    chats,
    entries,
    entry_keys,
    feeds,
    grades,
    heartbeats,
    leases,
    mutes,
)
from monitor.store.schema import schema_migrations as versions

logger = logging.getLogger(__name__)

# Backups of a SQLite database taken before upgrades; older ones are removed.
KEEP_BACKUPS = 3
BACKUP_SUFFIX = ".bak"


def _create_table(conn: Connection, table: sa.Table) -> None:
    if sa.inspect(conn).has_table(table.name):
        logger.warning("table %s exists already: completing a half-applied migration", table.name)
        return
    table.create(conn)


def _create_index(conn: Connection, index: sa.Index) -> None:
    table = index.table
    assert table is not None
    if index.name in {found["name"] for found in sa.inspect(conn).get_indexes(table.name)}:
        logger.warning("index %s exists already: completing a half-applied migration", index.name)
        return
    index.create(conn)


def _add_columns(conn: Connection, table: sa.Table, names: tuple[str, ...]) -> None:
    present = {column["name"] for column in sa.inspect(conn).get_columns(table.name)}
    for name in names:
        if name in present:
            logger.warning(
                "column %s.%s exists already: completing a half-applied migration",
                table.name,
                name,
            )
            continue
        column = table.c[name]
        definition = column.type.compile(dialect=conn.dialect)
        default = column.server_default
        if isinstance(default, sa.DefaultClause) and isinstance(default.arg, str):
            # existing rows take the default, so the column can be NOT NULL from the start
            definition += f" DEFAULT {default.arg}" + ("" if column.nullable else " NOT NULL")
        conn.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN {name} {definition}"))


def _m001_initial(conn: Connection) -> None:
    # The tables as version 1 had them; later columns arrive through later migrations.
    v1 = sa.MetaData()
    _create_table(
        conn,
        sa.Table(
            "feeds",
            v1,
            sa.Column("name", sa.String(200), primary_key=True),
            sa.Column("url", sa.Text, nullable=False),
            sa.Column("etag", sa.Text),
            sa.Column("last_modified", sa.Text),
            sa.Column("first_polled_at", sa.DateTime(timezone=True)),
            sa.Column("last_success_at", sa.DateTime(timezone=True)),
            sa.Column("last_error_at", sa.DateTime(timezone=True)),
            sa.Column("last_error", sa.Text),
            sa.Column("consecutive_errors", sa.Integer, nullable=False, server_default="0"),
        ),
    )
    _create_table(
        conn,
        sa.Table(
            "entries",
            v1,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("feed", sa.String(200), nullable=False),
            sa.Column("guid", sa.Text),
            sa.Column("link", sa.Text),
            sa.Column("title", sa.Text, nullable=False),
            sa.Column("published_at", sa.DateTime(timezone=True)),
            sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("text", sa.Text),
            sa.Column("from_page", sa.Boolean),
        ),
    )
    _create_table(
        conn,
        sa.Table(
            "alerts",
            v1,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("entry_id", sa.Integer, sa.ForeignKey("entries.id"), nullable=False),
            sa.Column("chat", sa.String(200), nullable=False),
            sa.Column("payload", sa.Text, nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("status", sa.String(20), nullable=False),
            sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
            sa.Column("last_error", sa.Text),
            sa.Column("sent_at", sa.DateTime(timezone=True)),
            sa.Column("message_id", sa.String(100)),
            sa.UniqueConstraint("entry_id", "chat", name="one_alert_per_entry_and_chat"),
            sa.Index("alerts_by_status", "status", "id"),
        ),
    )
    _create_table(conn, entry_keys)


def _m002_feed_schedule(conn: Connection) -> None:
    _add_columns(conn, feeds, ("poll_url", "next_poll_at", "gone_at"))


def _m003_heartbeats(conn: Connection) -> None:
    _create_table(conn, heartbeats)


def _m004_stories(conn: Connection) -> None:
    _add_columns(conn, entries, ("story",))
    _add_columns(conn, alerts, ("story", "kind", "next_attempt_at"))
    # Safe to repeat: until this migration is recorded, nothing else writes these tables.
    conn.execute(sa.text("UPDATE alerts SET status = 'dead' WHERE status = 'failed'"))
    conn.execute(sa.text("UPDATE alerts SET kind = 'new'"))
    _create_table(conn, chats)
    _create_index(conn, sa.Index("alerts_by_story", alerts.c.story, alerts.c.chat))
    _create_index(conn, sa.Index("entries_by_seen", entries.c.seen_at))


def _m005_digests(conn: Connection) -> None:
    _add_columns(conn, alerts, ("due_at", "via"))
    conn.execute(sa.text("UPDATE alerts SET via = 'message' WHERE status = 'sent'"))


def _m006_mutes(conn: Connection) -> None:
    # The table as version 6 had it; set_by arrives with migration 11.
    _create_table(
        conn,
        sa.Table(
            "mutes",
            sa.MetaData(),
            sa.Column("chat", sa.String(200), primary_key=True),
            sa.Column("topic", sa.String(200), primary_key=True),
            sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        ),
    )
    _create_index(conn, sa.Index("alerts_by_message", alerts.c.chat, alerts.c.message_id))


def _m007_leases(conn: Connection) -> None:
    _add_columns(conn, feeds, ("lease_owner", "lease_until"))
    _create_table(conn, leases)


def _m008_story_threads(conn: Connection) -> None:
    _add_columns(conn, alerts, ("thread",))
    _add_columns(conn, entries, ("story_note",))


def _m009_delivery_attempts(conn: Connection) -> None:
    _add_columns(conn, alerts, ("attempted_at", "ambiguous"))


def _m010_grouped_parts(conn: Connection) -> None:
    _add_columns(conn, alerts, ("part",))


def _m011_mute_authors(conn: Connection) -> None:
    _add_columns(conn, mutes, ("set_by",))


def _m012_grades(conn: Connection) -> None:
    _create_table(conn, grades)


def _m013_body_hash(conn: Connection) -> None:
    _add_columns(conn, feeds, ("body_hash",))


# Append only: what a shipped migration does to the schema never changes; a new migration
# follows it instead.
MIGRATIONS: tuple[tuple[str, Callable[[Connection], None]], ...] = (
    ("initial", _m001_initial),
    ("feed schedule: poll_url, next_poll_at, gone_at", _m002_feed_schedule),
    ("heartbeats", _m003_heartbeats),
    ("stories, delivery retries, chat state", _m004_stories),
    ("digests and quiet hours: due_at, via", _m005_digests),
    ("mutes, alerts by message", _m006_mutes),
    ("leases: feed polls, delivery and bot leaders", _m007_leases),
    ("story threads: alerts.thread, entries.story_note", _m008_story_threads),
    ("delivery attempts: alerts.attempted_at, alerts.ambiguous", _m009_delivery_attempts),
    ("grouped messages: alerts.part", _m010_grouped_parts),
    ("who muted: mutes.set_by", _m011_mute_authors),
    ("analysts' grades of alerts", _m012_grades),
    ("feed body hash: feeds.body_hash", _m013_body_hash),
)
LATEST = len(MIGRATIONS)


def recorded_versions(engine: Engine) -> set[int]:
    """Return the migration versions the database has recorded (none for an empty database)."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(versions.name):
            return set()
        return set(conn.scalars(sa.select(versions.c.version)))


def upgrade(engine: Engine, shown: str, target: int = LATEST) -> int:
    """Apply every migration up to `target` not yet recorded; return how many were applied.

    `shown` names the database in messages (no password). Raises `StoreError`, having changed
    nothing, when the database holds a newer schema than this code knows.
    """
    done = recorded_versions(engine)
    newest = max(done, default=0)
    if newest > LATEST:
        raise StoreError(
            f"the database {shown} holds schema version {newest}, newer than this release's "
            f"{LATEST}: a newer release of news-monitor wrote it. Run that release, or restore "
            "a backup taken before the upgrade (README, 'Upgrades, backups and rollback'); "
            "nothing was changed"
        )
    todo = [version for version in range(1, target + 1) if version not in done]
    if not todo:
        return 0
    if done:
        backup_sqlite(engine, newest)
        logger.info("upgrading the database %s from schema version %d to %d", shown, newest, target)
    else:
        logger.info("creating the database schema (version %d) in %s", target, shown)
    with engine.begin() as conn:
        versions.create(conn, checkfirst=True)
    for version in todo:
        _apply(engine, version)
    return len(todo)


def _apply(engine: Engine, version: int) -> None:
    name, apply = MIGRATIONS[version - 1]
    with engine.begin() as conn:
        # Another process may have applied it since we looked (PostgreSQL replicas take turns
        # under a lock; this guards a second start on the same SQLite file).
        if conn.scalar(sa.select(sa.func.count()).where(versions.c.version == version)):
            return
        apply(conn)
        conn.execute(
            versions.insert().values(version=version, name=name, applied_at=datetime.now(UTC))
        )
    logger.info("applied migration %d: %s", version, name)


def sqlite_path(engine: Engine) -> Path | None:
    """Return the file of a SQLite database, or None for another database or memory."""
    if engine.dialect.name != "sqlite" or not engine.url.database:
        return None
    if engine.url.database == ":memory:":
        return None
    return Path(engine.url.database)


def backup_sqlite(engine: Engine, version: int) -> Path | None:
    """Copy a SQLite database consistently next to itself before it is upgraded.

    The copy is named with the schema version it holds and the time; the newest
    `KEEP_BACKUPS` are kept. Raises `StoreError` when no copy can be written: upgrading
    without one would leave no way back.
    """
    path = sqlite_path(engine)
    if path is None:
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = path.with_name(f"{path.name}.v{version}-{stamp}{BACKUP_SUFFIX}")
    partial = target.with_name(target.name + ".partial")
    for stale in path.parent.glob(f"{path.name}.v*{BACKUP_SUFFIX}.partial"):
        stale.unlink(missing_ok=True)  # left by a kill during an earlier backup
    raw = engine.raw_connection()
    try:
        # VACUUM cannot run in a transaction: the driver connection is in autocommit mode.
        raw.driver_connection.execute("VACUUM INTO ?", (str(partial),))  # type: ignore[union-attr]
    except Exception as exc:
        partial.unlink(missing_ok=True)
        raise StoreError(
            f"cannot back up {path} before upgrading it: {exc}; nothing was changed"
        ) from None
    finally:
        raw.close()
    os.replace(partial, target)
    logger.info("backed up the database at schema version %d to %s", version, target)
    for old in backups(path)[:-KEEP_BACKUPS]:
        old.unlink(missing_ok=True)
    return target


def backups(path: Path) -> list[Path]:
    """Return the pre-upgrade copies of the SQLite database at `path`, oldest first."""
    return sorted(
        path.parent.glob(f"{path.name}.v*{BACKUP_SUFFIX}"), key=lambda p: p.stat().st_mtime_ns
    )


def integrity(engine: Engine) -> str:
    """Return SQLite's quick integrity check ("ok" or its first problems); "" elsewhere."""
    if engine.dialect.name != "sqlite":
        return ""
    with engine.connect() as conn:
        problems = [str(row[0]) for row in conn.exec_driver_sql("PRAGMA quick_check(5)")]
    return "; ".join(problems)
