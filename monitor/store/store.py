"""The database behind the service: one engine, and one object per entity it holds.

A caller names the entity it touches: `store.feeds.claim(...)`, `store.outbox.pending(...)`.
Each entity method is one short transaction of its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from monitor.errors import StoreError, StoreUnavailable
from monitor.store import migrations
from monitor.store.alerts import Alerts
from monitor.store.articles import Articles
from monitor.store.chats import Chats
from monitor.store.engine import MIGRATION_LOCK_KEY, Database, connect, reason, safe_url
from monitor.store.entries import Entries
from monitor.store.feeds import Feeds, Polled, polled_upsert
from monitor.store.grades import Grades
from monitor.store.leases import Heartbeats, Leases
from monitor.store.mutes import Mutes
from monitor.store.outbox import Outbox
from monitor.store.recording import Recording, lock_stories


class Store:
    """Owns the engine; exposes the entities: feeds, entries, articles, outbox, alerts,
    grades, chats, mutes, leases, heartbeats."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.db = Database(engine)
        self.feeds = Feeds(self.db)
        self.entries = Entries(self.db)
        self.articles = Articles(self.db)
        self.outbox = Outbox(self.db)
        self.alerts = Alerts(self.db)
        self.grades = Grades(self.db)
        self.chats = Chats(self.db)
        self.mutes = Mutes(self.db)
        self.leases = Leases(self.db)
        self.heartbeats = Heartbeats(self.db)
        self._story_seen: int | None = None  # the last entry id known when last recording

    @classmethod
    def open(cls, url: str, schema_version: int = migrations.LATEST) -> Store:
        """Connect to `url` (creating a SQLite file's directory) and apply pending migrations.

        `schema_version` stops the migrations early (to build an older release's database).
        Raises `StoreError` naming the database (never its password) when it cannot be used.
        """
        store = cls(connect(url))
        try:
            store.migrate(schema_version)
        except StoreUnavailable as exc:
            store.close()
            raise StoreError(f"cannot open the database {safe_url(url)}: {exc.reason}") from None
        except sa.exc.OperationalError as exc:
            store.close()
            shown = safe_url(url)
            raise StoreError(f"cannot open the database {shown}: {reason(exc, url)}") from None
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        """Release every connection."""
        self.engine.dispose()

    @contextlib.contextmanager
    def recording(self, feed: str, polled: Polled) -> Iterator[Recording]:
        """Record a successful poll of `feed` in one transaction: its state now, and (through
        the `Recording` yielded) its entries, under the story lock until the commit.

        `Recording.others_wrote` says whether other replicas may have stored entries since
        this process last recorded, so its story index would need their news first.
        """
        seen, self._story_seen = self._story_seen, None  # unknown until this one commits
        with self.db.write() as conn:
            last_id = lock_stories(conn, polled_upsert(conn, feed, polled))
            on_postgresql = conn.dialect.name == "postgresql"
            others_wrote = on_postgresql and (last_id is None or last_id != seen)
            recording = Recording(self.db.bound(conn), others_wrote)
            yield recording
        if on_postgresql:
            self._story_seen = max([last_id or 0, *recording.written])

    def write(self) -> contextlib.AbstractContextManager[Connection]:
        """Begin a transaction that will write (on SQLite it takes the write lock at once)."""
        return self.db.write()

    def migrate(self, schema_version: int = migrations.LATEST) -> int:
        """Apply each migration not yet recorded, each in its own transaction; return how many.

        Replicas starting together on PostgreSQL take turns (an advisory lock), so each
        migration runs once.
        """
        with self.db.advisory_lock(MIGRATION_LOCK_KEY):
            shown = self.engine.url.render_as_string(hide_password=True)
            return migrations.upgrade(self.db.writer, shown, schema_version)

    def schema(self) -> tuple[int, str]:
        """Return the schema version recorded and, on SQLite, the quick integrity check."""
        version = max(migrations.recorded_versions(self.engine), default=0)
        return version, migrations.integrity(self.engine)
