"""Remember what happened (SQLAlchemy Core): migrations, feed state, seen keys, the alert outbox.

Uniqueness lives in the schema: an entry is new when none of its keys is in `entry_keys`, and
entries, their keys and their alerts are written in one transaction, so a crash either keeps all
of them (and the alerts are still pending in the outbox) or none (and the entry is seen again).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from monitor import migrations
from monitor.errors import StoreError, StoreUnavailable
from monitor.models import Alert, Article, Entry, Span
from monitor.tables import (
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

logger = logging.getLogger(__name__)

# The PostgreSQL advisory locks that serialise story assignment and migrations across replicas.
STORY_LOCK_KEY = 0x6E6D7374  # "nmst"
MIGRATION_LOCK_KEY = 0x6E6D6D67  # "nmmg"
# Marks a connection that will write: on SQLite it takes the write lock at BEGIN (IMMEDIATE),
# waiting out busy_timeout, instead of failing when a read turns into a write.
_WRITES = "news_monitor_writes"


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the database remembers about one feed."""

    name: str
    url: str
    etag: str | None
    last_modified: str | None
    first_polled_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    consecutive_errors: int
    poll_url: str | None = None
    next_poll_at: datetime | None = None
    gone_at: datetime | None = None
    lease_owner: str | None = None  # the replica polling it now
    lease_until: datetime | None = None
    body_hash: str | None = None  # of the last body read in full


@dataclass(frozen=True, slots=True)
class NewEntry:
    """An entry to record, with its identity keys, the article text (if any) and its alerts."""

    entry: Entry
    keys: tuple[str, ...]
    article: Article | None
    alerts: tuple[Alert, ...]
    story: str | None = None  # the story its alerts belong to (stories.py)
    kind: str = "new"  # how it relates to that story: new | same | followup
    thread: str | None = None  # a follow-up: the story it continues (its message is replied to)
    note: str | None = None  # the story decision for people (/why, explain)


@dataclass(frozen=True, slots=True)
class PendingAlert:
    """An alert in the outbox, waiting to be delivered."""

    id: int
    alert: Alert
    attempts: int
    created_at: datetime
    story: str | None = None
    kind: str = "new"
    due_at: datetime | None = None  # when its hold (quiet hours, digest) ended, if it had one
    thread: str | None = None  # a follow-up: the story whose message it replies to


@dataclass(frozen=True, slots=True)
class StoryAlert:
    """An earlier alert of the same story in the same chat."""

    id: int
    alert: Alert
    status: str
    message_id: str | None
    kind: str
    via: str | None = None  # message | digest


@dataclass(frozen=True, slots=True)
class MessageAlert:
    """An alert delivered in a given message (one alone, or several in a grouped message)."""

    id: int
    alert: Alert
    entry_id: int
    story: str | None
    kind: str
    part: str | None  # a grouped message: its title and first item number (JSON)


@dataclass(frozen=True, slots=True)
class ChatState:
    """What delivery learned about a chat: a new id after a migration, or that it is closed."""

    name: str
    chat_id: str
    moved_to: str | None
    disabled_at: datetime | None
    disabled_reason: str | None


@dataclass(slots=True)
class PendingChat:
    """What waits in the outbox for one chat."""

    chat: str
    count: int = 0
    held: int = 0  # held back for a digest or quiet hours, not failed
    next_try: datetime | None = None
    last_error: str | None = None
    retries: list[datetime] = field(default_factory=list)  # when failed alerts are tried again


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """A stored entry's id, title, text, time and story, to rebuild the story index."""

    id: int
    title: str
    text: str
    seen_at: datetime
    story: str | None


class Store:
    """The database behind the service; every method is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{_WRITES: True})

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
            raise StoreError(f"cannot open the database {shown}: {_reason(exc, url)}") from None
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        """Release every connection."""
        self.engine.dispose()

    def write(self) -> contextlib.AbstractContextManager[Connection]:
        """Begin a transaction that will write (on SQLite it takes the write lock at once)."""
        return self._writer.begin()

    def migrate(self, schema_version: int = migrations.LATEST) -> int:
        """Apply each migration not yet recorded, each in its own transaction; return how many.

        Replicas starting together on PostgreSQL take turns (an advisory lock), so each
        migration runs once.
        """
        with self._advisory_lock(MIGRATION_LOCK_KEY):
            shown = self.engine.url.render_as_string(hide_password=True)
            return migrations.upgrade(self._writer, shown, schema_version)

    def schema(self) -> tuple[int, str]:
        """Return the schema version recorded and, on SQLite, the quick integrity check."""
        version = max(migrations.recorded_versions(self.engine), default=0)
        return version, migrations.integrity(self.engine)

    def feed_state(self, name: str) -> FeedState | None:
        """Return what is known about feed `name`, or None before its first poll."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(feeds).where(feeds.c.name == name)).mappings().first()
        return _feed_state(row) if row is not None else None

    def feed_states(self) -> list[FeedState]:
        """Return what is known about every feed ever polled, by name."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(feeds).order_by(feeds.c.name)).mappings().all()
        return [_feed_state(row) for row in rows]

    def forget_feed_location(self, name: str, url: str) -> None:
        """The operator changed a feed's URL: drop where it moved, its validators, and `gone`."""
        with self.write() as conn:
            conn.execute(
                feeds.update()
                .where(feeds.c.name == name)
                .values(
                    url=url,
                    poll_url=None,
                    etag=None,
                    last_modified=None,
                    gone_at=None,
                    next_poll_at=None,
                    body_hash=None,
                )
            )

    def unseen(self, candidates: Sequence[tuple[Entry, tuple[str, ...]]]) -> list[int]:
        """Return indexes of candidates with no key seen before, in the store or earlier here."""
        wanted = {key for _, keys in candidates for key in keys}
        seen: set[str] = set()
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(wanted), 500):
                seen.update(_known_keys(conn, chunk))
        fresh = []
        for index, (_, keys) in enumerate(candidates):
            if not seen.intersection(keys):
                fresh.append(index)
                seen.update(keys)  # a duplicate later in the same feed is not new either
        return fresh

    def record(
        self,
        feed_name: str,
        items: Iterable[NewEntry],
        now: datetime,
        inserted: set[int] | None = None,
    ) -> int:
        """Store entries, their keys and their alerts in one transaction; return alerts queued.

        Entries without alerts (most of them: items outside the backlog window, articles that
        match no topic) are written many to a statement; each with alerts has a savepoint of
        its own. The ids of the entries written are added to `inserted`, when given.
        """
        queued = 0
        written: set[int] = set()
        quiet: list[NewEntry] = []
        with self.write() as conn:
            for item in items:
                if not item.alerts:
                    quiet.append(item)
                    continue
                self._record_quiet(conn, feed_name, quiet, now, written)
                quiet = []
                queued += self._record_one(conn, feed_name, item, now, written)
            self._record_quiet(conn, feed_name, quiet, now, written)
        if inserted is not None:
            inserted |= written
        return queued

    def _record_quiet(
        self,
        conn: Connection,
        feed_name: str,
        items: Sequence[NewEntry],
        now: datetime,
        inserted_ids: set[int],
    ) -> None:
        """Write entries that alert nobody, skipping any whose key is known already.

        Should another replica write one of the keys in between (PostgreSQL), that key is left
        to it and our copy of the entry keeps the others: it alerts nobody either way.
        """
        if not items:
            return
        present: set[str] = set()
        for chunk in _chunks(sorted({key for item in items for key in item.keys}), 500):
            present.update(_known_keys(conn, chunk))
        kept = []
        for item in items:
            if present.intersection(item.keys):
                continue
            present.update(item.keys)
            kept.append(item)
        if not kept:
            return
        ids = _insert_entries(conn, [_entry_row(feed_name, item, now) for item in kept])
        pairs = zip(ids, kept, strict=True)
        _insert_keys(conn, [(key, entry_id) for entry_id, item in pairs for key in item.keys], now)
        # Only entries with an article reach the story index, which is what the ids are for.
        inserted_ids.update(i for i, item in zip(ids, kept, strict=True) if item.article)

    def _record_one(
        self,
        conn: Connection,
        feed_name: str,
        item: NewEntry,
        now: datetime,
        inserted_ids: set[int],
    ) -> int:
        # Replicas may record the same article (in two feeds) at once, and one bad entry must
        # not cost the poll its other entries: each entry has a savepoint of its own, and a
        # unique key that refuses it rolls back that entry alone.
        written: set[int] = set()
        try:
            with conn.begin_nested():
                queued = self._insert_one(conn, feed_name, item, now, written)
        except sa.exc.IntegrityError as exc:
            logger.warning(
                "feed %s: entry %r not recorded: %s",
                feed_name,
                item.entry.title[:80],
                str(exc.orig).splitlines()[0] if exc.orig else exc,
            )
            return 0
        inserted_ids |= written
        return queued

    def _insert_one(
        self,
        conn: Connection,
        feed_name: str,
        item: NewEntry,
        now: datetime,
        inserted_ids: set[int],
    ) -> int:
        existing = conn.scalar(sa.select(entry_keys.c.key).where(entry_keys.c.key.in_(item.keys)))
        if existing is not None:
            return 0  # another poll recorded the same article meanwhile
        inserted = conn.execute(
            entries.insert().values(**_entry_row(feed_name, item, now))
        ).inserted_primary_key
        assert inserted is not None
        entry_id = inserted[0]
        inserted_ids.add(entry_id)
        conn.execute(
            entry_keys.insert(),
            [{"key": k, "entry_id": entry_id, "seen_at": now} for k in item.keys],
        )
        for alert in item.alerts:
            conn.execute(
                alerts.insert().values(
                    entry_id=entry_id,
                    chat=alert.chat,
                    payload=_dump_alert(alert),
                    created_at=now,
                    status="pending",
                    story=item.story,
                    kind=item.kind,
                    thread=item.thread,
                )
            )
        return len(item.alerts)

    def feed_polled(
        self,
        name: str,
        url: str,
        validators: tuple[str | None, str | None] | None,
        now: datetime,
        *,
        next_poll_at: datetime | None = None,
        poll_url: str | None = None,
        body_hash: str | None = None,
    ) -> None:
        """Record a successful poll (and new validators and the body's hash, when the server
        sent a body)."""
        values: dict[str, Any] = {
            "url": url,
            "last_success_at": now,
            "consecutive_errors": 0,
            "last_error": None,
            "gone_at": None,
            "next_poll_at": next_poll_at,
            "lease_owner": None,
            "lease_until": None,
        }
        if validators is not None:
            values["etag"], values["last_modified"] = validators
        if poll_url is not None:
            values["poll_url"] = poll_url
        if body_hash is not None:
            values["body_hash"] = body_hash
        self._upsert_feed(name, url, values, now)

    def feed_failed(
        self,
        name: str,
        url: str,
        error: str,
        now: datetime,
        *,
        next_poll_at: datetime | None = None,
        gone: bool = False,
    ) -> None:
        """Record a failed poll with its reason, and when to try again."""
        values: dict[str, Any] = {
            "url": url,
            "last_error_at": now,
            "last_error": error,
            "consecutive_errors": feeds.c.consecutive_errors + 1,
            "next_poll_at": next_poll_at,
            "lease_owner": None,
            "lease_until": None,
        }
        if gone:
            values["gone_at"] = now
        self._upsert_feed(name, url, values, now)

    def claim_feed(self, name: str, url: str, owner: str, now: datetime, until: datetime) -> bool:
        """Claim the next poll of feed `name` for `owner` until `until`; False if not ours.

        A compare-and-set: the row is updated only while the feed is due and nobody else holds
        an unexpired claim, so of several replicas exactly one wins (PostgreSQL re-checks the
        condition after a concurrent update commits; SQLite has one writer). A replica that
        dies keeps its claim only until `until`. Recording the poll releases the claim.
        """
        with self.write() as conn:
            _insert_ignore(conn, feeds, {"name": name, "url": url, "consecutive_errors": 0})
            claimed = conn.execute(
                feeds.update()
                .where(
                    feeds.c.name == name,
                    sa.or_(
                        feeds.c.lease_until.is_(None),
                        feeds.c.lease_until <= now,
                        feeds.c.lease_owner == owner,
                    ),
                    sa.or_(feeds.c.next_poll_at.is_(None), feeds.c.next_poll_at <= now),
                )
                .values(lease_owner=owner, lease_until=until)
            )
        return bool(claimed.rowcount)

    def release_claims(self, owner: str) -> None:
        """Give up every feed claim and lease `owner` holds (a clean shutdown)."""
        with self.write() as conn:
            conn.execute(
                feeds.update()
                .where(feeds.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )
            conn.execute(leases.delete().where(leases.c.owner == owner))

    def lease_owners(self) -> set[str]:
        """Return everyone holding a feed claim or a lease, expired or not."""
        with self.engine.connect() as conn:
            owners: set[str] = set(conn.scalars(sa.select(leases.c.owner)))
            claims = sa.select(feeds.c.lease_owner).where(feeds.c.lease_owner.is_not(None))
            owners.update(str(row[0]) for row in conn.execute(claims))
        return owners

    def acquire(self, name: str, owner: str, now: datetime, until: datetime) -> bool:
        """Take or renew the lease `name` (delivery, bot) for `owner`; True while it is ours."""
        with self.write() as conn:
            _insert_ignore(conn, leases, {"name": name, "owner": owner, "until": until})
            taken = conn.execute(
                leases.update()
                .where(
                    leases.c.name == name,
                    sa.or_(leases.c.owner == owner, leases.c.until <= now),
                )
                .values(owner=owner, until=until)
            )
        return bool(taken.rowcount)

    def lease_holders(self, now: datetime) -> dict[str, str]:
        """Return who holds each unexpired lease: name -> owner."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(leases).where(leases.c.until > now)).all()
        return {row.name: row.owner for row in rows}

    def story_lock(self) -> contextlib.AbstractContextManager[None]:
        """Serialise story assignment across replicas (a PostgreSQL advisory lock).

        SQLite serves one replica, whose event loop already runs one assignment at a time.
        """
        return self._advisory_lock(STORY_LOCK_KEY)

    @contextlib.contextmanager
    def _advisory_lock(self, key: int) -> Iterator[None]:
        """Hold PostgreSQL advisory lock `key` on a connection of its own; no-op on SQLite."""
        if self.engine.dialect.name != "postgresql":
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

    def _upsert_feed(self, name: str, url: str, values: dict[str, Any], now: datetime) -> None:
        with self.write() as conn:
            updated = conn.execute(feeds.update().where(feeds.c.name == name).values(**values))
            if updated.rowcount == 0:
                fresh = {k: v for k, v in values.items() if k != "consecutive_errors"}
                errors = 1 if "last_error_at" in values else 0
                conn.execute(
                    feeds.insert().values(
                        name=name, first_polled_at=now, consecutive_errors=errors, **fresh
                    )
                )

    def pending_alerts(self, now: datetime, limit: int = 500) -> list[PendingAlert]:
        """Return undelivered alerts whose next attempt is due, oldest first."""
        due = sa.or_(alerts.c.next_attempt_at.is_(None), alerts.c.next_attempt_at <= now)
        # A chat's alerts keep their order: none goes out while an older one waits for a retry
        # (a hold for a digest or quiet hours is no retry and blocks nothing).
        earlier = alerts.alias("earlier")
        waiting_before = (
            sa.select(earlier.c.id)
            .where(
                earlier.c.chat == alerts.c.chat,
                earlier.c.status == "pending",
                earlier.c.id < alerts.c.id,
                earlier.c.attempts > 0,
                earlier.c.next_attempt_at > now,
            )
            .exists()
        )
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    alerts.c.id,
                    alerts.c.payload,
                    alerts.c.attempts,
                    alerts.c.created_at,
                    alerts.c.story,
                    alerts.c.kind,
                    alerts.c.due_at,
                    alerts.c.thread,
                )
                .where(alerts.c.status == "pending", due, ~waiting_before)
                .order_by(alerts.c.id)
                .limit(limit)
            ).all()
        return [
            PendingAlert(
                row.id,
                _load_alert(row.payload),
                row.attempts,
                _utc(row.created_at) or now,
                row.story,
                row.kind or "new",
                _utc(row.due_at),
                row.thread,
            )
            for row in rows
        ]

    def story_alerts(self, chat: str, story: str, before: int) -> list[StoryAlert]:
        """Return the alerts of `story` in `chat` queued before alert `before`, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    alerts.c.id,
                    alerts.c.payload,
                    alerts.c.status,
                    alerts.c.message_id,
                    alerts.c.kind,
                    alerts.c.via,
                )
                .where(alerts.c.chat == chat, alerts.c.story == story, alerts.c.id < before)
                .order_by(alerts.c.id)
            ).all()
        return [
            StoryAlert(
                row.id, _load_alert(row.payload), row.status, row.message_id, row.kind, row.via
            )
            for row in rows
        ]

    def mark_sent(
        self,
        alert_ids: int | Sequence[int],
        message_id: str | None,
        now: datetime,
        via: str = "message",
        part: str | None = None,
    ) -> None:
        """Record that alerts reached their chat: as a message, an edit, in a digest or a group.

        `part` describes the grouped message they are in (see `message_alerts`).
        """
        ids = [alert_ids] if isinstance(alert_ids, int) else list(alert_ids)
        with self.write() as conn:
            conn.execute(
                alerts.update()
                .where(alerts.c.id.in_(ids))
                .values(
                    status="sent",
                    sent_at=now,
                    message_id=message_id,
                    next_attempt_at=None,
                    via=via,
                    part=part,
                )
            )

    def message_alerts(self, chat: str, message_id: str) -> list[MessageAlert]:
        """Return the alerts delivered to `chat` in message `message_id`, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    alerts.c.id,
                    alerts.c.payload,
                    alerts.c.entry_id,
                    alerts.c.story,
                    alerts.c.kind,
                    alerts.c.part,
                )
                .where(
                    alerts.c.chat == chat,
                    alerts.c.message_id == message_id,
                    alerts.c.status == "sent",
                )
                .order_by(alerts.c.id)
            ).all()
        return [
            MessageAlert(
                row.id,
                _load_alert(row.payload),
                row.entry_id,
                row.story,
                row.kind or "new",
                row.part,
            )
            for row in rows
        ]

    def claim_attempt(self, alert_ids: Sequence[int], now: datetime) -> None:
        """Record that a send of these alerts starts now; nothing may be sent unless this holds.

        Raises `StoreUnavailable` when the database refuses the write, so an alert never goes
        out while its outcome could not be recorded.
        """
        with self.write() as conn:
            conn.execute(
                alerts.update()
                .where(alerts.c.id.in_(list(alert_ids)))
                .values(attempts=alerts.c.attempts + 1, attempted_at=now)
            )

    def hold(self, alert_ids: Sequence[int], until: datetime) -> None:
        """Keep pending alerts back until `until` (quiet hours, a digest's time); no attempt."""
        with self.write() as conn:
            conn.execute(
                alerts.update()
                .where(alerts.c.id.in_(list(alert_ids)), alerts.c.status == "pending")
                .values(next_attempt_at=until, due_at=until)
            )

    def mark_attempt_failed(
        self,
        alert_ids: int | Sequence[int],
        error: str,
        retry_at: datetime | None,
        ambiguous: bool = False,
    ) -> None:
        """Record a failed delivery: try again at `retry_at`, or never (`dead`) when None.

        `ambiguous`: Telegram may have received it (no answer came), so a retry may repeat it.
        """
        ids = [alert_ids] if isinstance(alert_ids, int) else list(alert_ids)
        with self.write() as conn:
            conn.execute(
                alerts.update()
                .where(alerts.c.id.in_(ids))
                .values(
                    ambiguous=alerts.c.ambiguous + int(ambiguous),
                    last_error=error,
                    status="dead" if retry_at is None else "pending",
                    next_attempt_at=retry_at,
                )
            )

    def expire_pending(self, due_before: datetime) -> int:
        """Mark alerts undelivered since they fell due before `due_before` as dead; count them.

        An alert falls due when created, or when its hold (quiet hours, digest) ends.
        """
        due = sa.func.coalesce(alerts.c.due_at, alerts.c.created_at)
        with self.write() as conn:
            result = conn.execute(
                alerts.update()
                .where(alerts.c.status == "pending", due < due_before)
                .values(
                    status="dead",
                    last_error=sa.func.coalesce(alerts.c.last_error, "never attempted")
                    + " (gave up: undelivered too long)",
                )
            )
        return result.rowcount or 0

    def dead_alerts(self, limit: int = 5) -> list[tuple[int, str, str, str | None]]:
        """Return the latest dead alerts as (id, chat, title, last error)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(alerts.c.id, alerts.c.chat, alerts.c.payload, alerts.c.last_error)
                .where(alerts.c.status == "dead")
                .order_by(alerts.c.id.desc())
                .limit(limit)
            ).all()
        return [(row.id, row.chat, _load_alert(row.payload).title, row.last_error) for row in rows]

    def chat_state(self, name: str) -> ChatState | None:
        """Return what delivery learned about chat `name`, if anything."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(chats).where(chats.c.name == name)).mappings().first()
        return _chat_state(row) if row is not None else None

    def chat_states(self) -> list[ChatState]:
        """Return every chat delivery learned something about, by name."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(chats).order_by(chats.c.name)).mappings().all()
        return [_chat_state(row) for row in rows]

    def chat_moved(self, name: str, chat_id: str, moved_to: str) -> None:
        """Remember that Telegram migrated chat `name` (configured as `chat_id`) to `moved_to`."""
        self._put_chat(name, chat_id, {"moved_to": moved_to})

    def chat_disabled(self, name: str, chat_id: str, reason: str, now: datetime) -> None:
        """Stop delivering to chat `name` (the bot was blocked or removed)."""
        self._put_chat(name, chat_id, {"disabled_at": now, "disabled_reason": reason})

    def chat_enabled(self, name: str) -> None:
        """Deliver to chat `name` again."""
        with self.write() as conn:
            conn.execute(
                chats.update()
                .where(chats.c.name == name)
                .values(disabled_at=None, disabled_reason=None)
            )

    def forget_chat(self, name: str) -> None:
        """Drop what delivery learned about chat `name` (its configured id changed)."""
        with self.write() as conn:
            conn.execute(chats.delete().where(chats.c.name == name))

    def _put_chat(self, name: str, chat_id: str, values: dict[str, Any]) -> None:
        with self.write() as conn:
            updated = conn.execute(
                chats.update().where(chats.c.name == name).values(chat_id=chat_id, **values)
            )
            if updated.rowcount == 0:
                conn.execute(chats.insert().values(name=name, chat_id=chat_id, **values))

    def forget_keys(self, before: datetime) -> int:
        """Drop identity keys first seen before `before`; return how many."""
        with self.write() as conn:
            result = conn.execute(entry_keys.delete().where(entry_keys.c.seen_at < before))
        return result.rowcount or 0

    def stored_articles(self, since: datetime, after_id: int = 0) -> Iterator[StoredArticle]:
        """Yield entries seen since `since` (and numbered after `after_id`) with their story,
        oldest first, in batches: those read as articles, not the backlog items recorded from
        the pre-scan alone (the running service never counts those either)."""
        query = (
            sa.select(
                entries.c.id, entries.c.title, entries.c.text, entries.c.seen_at, entries.c.story
            )
            .where(
                entries.c.seen_at >= since,
                entries.c.id > after_id,
                entries.c.from_page.is_not(None),
            )
            .order_by(entries.c.id)
        )
        with self.engine.connect() as conn:
            for row in conn.execution_options(yield_per=1000).execute(query):
                yield StoredArticle(
                    row.id, row.title, row.text or "", _utc(row.seen_at) or since, row.story
                )

    def count_articles(self, since: datetime | None = None) -> int:
        """Return how many entries were seen since `since` (all when None)."""
        query = sa.select(sa.func.count()).select_from(entries)
        if since is not None:
            query = query.where(entries.c.seen_at >= since)
        with self.engine.connect() as conn:
            return int(conn.scalar(query) or 0)

    def articles(
        self, since: datetime | None = None, newest_first: bool = False
    ) -> Generator[Article, None, None]:
        """Yield stored entries as articles, oldest (or newest) first, reading in batches."""
        query = sa.select(entries).order_by(entries.c.id.desc() if newest_first else entries.c.id)
        if since is not None:
            query = query.where(entries.c.seen_at >= since)
        with self.engine.connect() as conn:
            for row in conn.execution_options(yield_per=500).execute(query).mappings():
                yield _article(row)

    def beat(self, now: datetime, name: str = "service") -> None:
        """Record that the service's loop is alive and can write to the database."""
        with self.write() as conn:
            updated = conn.execute(
                heartbeats.update().where(heartbeats.c.name == name).values(beat_at=now)
            )
            if updated.rowcount == 0:
                conn.execute(heartbeats.insert().values(name=name, beat_at=now))

    def last_beat(self, name: str = "service") -> datetime | None:
        """Return when the service last recorded its heartbeat, if ever."""
        with self.engine.connect() as conn:
            value = conn.scalar(sa.select(heartbeats.c.beat_at).where(heartbeats.c.name == name))
        return _utc(value)

    def story_note(self, entry_id: int) -> str | None:
        """Return why an alerted entry joined or opened its story, if recorded."""
        with self.engine.connect() as conn:
            note = conn.scalar(sa.select(entries.c.story_note).where(entries.c.id == entry_id))
        return str(note) if note else None

    def entry_article(self, entry_id: int) -> Article | None:
        """Return the stored text of one entry as an article."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(sa.select(entries).where(entries.c.id == entry_id)).mappings().first()
            )
        return _article(row) if row is not None else None

    def recent_alerts(
        self, chat: str, topic: str | None, limit: int, scan: int = 5000
    ) -> list[Alert]:
        """Return the latest alerts delivered to `chat` (naming `topic`, if given), newest first,
        looking at no more than the latest `scan` alerts of the chat."""
        found: list[Alert] = []
        query = (
            sa.select(alerts.c.payload)
            .where(alerts.c.chat == chat, alerts.c.status == "sent")
            .order_by(alerts.c.id.desc())
            .limit(scan)
        )
        with self.engine.connect() as conn:
            for row in conn.execution_options(yield_per=200).execute(query):
                alert = _load_alert(row.payload)
                if topic is None or topic in alert.topics:
                    found.append(alert)
                    if len(found) >= limit:
                        break
        return found

    def last_sent_at(self) -> datetime | None:
        """Return when the last alert was delivered, if ever."""
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(sa.func.max(alerts.c.sent_at))).scalar()
        return _utc(value)

    def grade(
        self, chat: str, message_id: str, user_id: int, label: str, now: datetime
    ) -> list[MessageAlert]:
        """Record `user_id`'s label for the alerts delivered to `chat` as message `message_id`
        (a grouped message is graded as a whole); a second grade replaces the first.

        Returns the alerts graded: none when the message is not an alert this store knows.
        """
        members = self.message_alerts(chat, message_id)
        with self.write() as conn:
            for member in members:
                mine = sa.and_(grades.c.alert_id == member.id, grades.c.user_id == user_id)
                conn.execute(grades.delete().where(mine))
                conn.execute(
                    grades.insert().values(
                        alert_id=member.id, user_id=user_id, chat=chat, label=label, graded_at=now
                    )
                )
        return members

    def graded_since(
        self, since: datetime
    ) -> tuple[list[tuple[int, tuple[str, ...], datetime]], list[tuple[int, str]]]:
        """Return the alerts sent since `since` (id, topics, when) and the label of each graded
        one (the latest grade of any user)."""
        with self.engine.connect() as conn:
            sent = conn.execute(
                sa.select(alerts.c.id, alerts.c.payload, alerts.c.sent_at).where(
                    alerts.c.status == "sent", alerts.c.sent_at >= since
                )
            ).all()
            graded = conn.execute(
                sa.select(grades.c.alert_id, grades.c.label)
                .join(alerts, alerts.c.id == grades.c.alert_id)
                .where(alerts.c.sent_at >= since)
                .order_by(grades.c.graded_at)
            ).all()
        topics = [
            (row.id, _load_alert(row.payload).topics, _utc(row.sent_at) or since) for row in sent
        ]
        return topics, [(row.alert_id, row.label) for row in graded]

    def graded_articles(self) -> list[tuple[int, Article, tuple[str, ...], str]]:
        """Return each graded article once: entry id, article, the topics it alerted for, and
        the latest label any analyst gave it."""
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    sa.select(entries, alerts.c.payload, grades.c.label)
                    .join(alerts, alerts.c.entry_id == entries.c.id)
                    .join(grades, grades.c.alert_id == alerts.c.id)
                    .order_by(grades.c.graded_at)
                )
                .mappings()
                .all()
            )
        found: dict[int, tuple[int, Article, tuple[str, ...], str]] = {}
        for row in rows:
            topics = _load_alert(row["payload"]).topics
            found[row["id"]] = (row["id"], _article(row), topics, row["label"])
        return list(found.values())

    def mute(self, chat: str, topic: str, until: datetime, set_by: str | None = None) -> None:
        """Hold back `topic`'s alerts in `chat` until `until`; `set_by` names who asked."""
        with self.write() as conn:
            conn.execute(mutes.delete().where(mutes.c.chat == chat, mutes.c.topic == topic))
            conn.execute(mutes.insert().values(chat=chat, topic=topic, until=until, set_by=set_by))

    def mutes_in(self, chat: str, now: datetime) -> list[tuple[str, datetime, str | None]]:
        """Return the mutes in force in `chat` at `now`: topic, until, who set it."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(mutes.c.topic, mutes.c.until, mutes.c.set_by)
                .where(mutes.c.chat == chat, mutes.c.until > now)
                .order_by(mutes.c.topic)
            ).all()
        return [(row.topic, _utc(row.until) or now, row.set_by) for row in rows]

    def unmute(self, chat: str, topic: str | None = None) -> int:
        """Lift the mute of `topic` (or every mute) in `chat`; return how many were lifted."""
        condition = mutes.c.chat == chat
        if topic is not None:
            condition = sa.and_(condition, mutes.c.topic == topic)
        with self.write() as conn:
            return conn.execute(mutes.delete().where(condition)).rowcount or 0

    def mutes(self, now: datetime) -> dict[str, dict[str, datetime]]:
        """Return the mutes in force at `now`: chat -> topic -> until."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(mutes).where(mutes.c.until > now)).all()
        found: dict[str, dict[str, datetime]] = {}
        for row in rows:
            found.setdefault(row.chat, {})[row.topic] = _utc(row.until) or now
        return found

    def mark_muted(self, alert_ids: Sequence[int]) -> None:
        """Record that alerts were not sent because their topics were muted in their chat."""
        with self.write() as conn:
            conn.execute(
                alerts.update()
                .where(alerts.c.id.in_(list(alert_ids)), alerts.c.status == "pending")
                .values(status="muted", next_attempt_at=None)
            )

    def pending_by_chat(self) -> list[PendingChat]:
        """Return, per chat, its pending alerts: how many, the next try, the last error."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    alerts.c.chat,
                    alerts.c.next_attempt_at,
                    alerts.c.due_at,
                    alerts.c.last_error,
                    alerts.c.attempts,
                )
                .where(alerts.c.status == "pending")
                .order_by(alerts.c.id)
            ).all()
        found: dict[str, PendingChat] = {}
        for row in rows:
            chat = found.setdefault(row.chat, PendingChat(row.chat))
            chat.count += 1
            next_try = _utc(row.next_attempt_at)
            if next_try is not None and row.attempts:
                chat.retries.append(next_try)
            if next_try is not None and (chat.next_try is None or next_try < chat.next_try):
                chat.next_try = next_try
            chat.held += row.due_at is not None and row.last_error is None
            chat.last_error = row.last_error or chat.last_error
        return list(found.values())

    def ambiguous_alerts(self) -> int:
        """Count alerts sent again after Telegram left a send unanswered (maybe shown twice)."""
        with self.engine.connect() as conn:
            query = sa.select(sa.func.count()).where(alerts.c.ambiguous > 0)
            return int(conn.execute(query).scalar_one())

    def alert_counts(self) -> dict[str, int]:
        """Return how many alerts are in each status."""
        with self.engine.connect() as conn:
            count = sa.func.count().label("n")
            query = sa.select(alerts.c.status, count).group_by(alerts.c.status)
            return {row.status: row.n for row in conn.execute(query)}


# Tables in the order a copy must fill them (references first); leases are not copied.
COPIED_TABLES = (feeds, entries, entry_keys, alerts, grades, chats, mutes, heartbeats)


def copy_state(source: Store, target: Store, batch: int = 1000) -> dict[str, int]:
    """Copy every row of `source` into the empty, migrated `target`; return rows per table.

    Ids are kept, so alerts still point at their entries; PostgreSQL's id sequences are
    moved past the copied ids. Raises `ValueError` when the target already holds entries.
    """
    with target.engine.connect() as conn:
        present = conn.scalar(sa.select(sa.func.count()).select_from(entries))
    if present:
        raise ValueError(f"the target already holds {present} entries; copy into an empty one")
    copied: dict[str, int] = {}
    with source.engine.connect() as reader, target.write() as writer:
        for table in COPIED_TABLES:
            rows = reader.execution_options(yield_per=batch).execute(sa.select(table)).mappings()
            count = 0
            for chunk in rows.partitions(batch):
                writer.execute(table.insert(), [dict(row) for row in chunk])
                count += len(chunk)
            copied[table.name] = count
        if writer.dialect.name == "postgresql":
            for table in (entries, alerts):
                writer.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table.name}), false)"
                    )
                )
    return copied


def migrate_state(source_url: str, target_url: str) -> tuple[str, dict[str, int]]:
    """Copy the database at `source_url` into the empty one at `target_url` (`copy_state`).

    Returns the target URL without its password, and rows copied per table; raises
    `StoreError` when either cannot be opened or the target is not empty.
    """
    shown = safe_url(target_url)
    source = Store.open(source_url)
    try:
        target = Store.open(target_url)
    except StoreError:
        source.close()
        raise
    try:
        return shown, copy_state(source, target)
    except ValueError as exc:
        raise StoreError(f"{shown}: {exc}") from None
    finally:
        source.close()
        target.close()


def safe_url(url: str) -> str:
    """Return a database URL fit to show: the password replaced by ***."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "(an unreadable database URL)"


def _reason(exc: BaseException, url: str) -> str:
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


def _insert_ignore(conn: Connection, table: sa.Table, values: dict[str, Any]) -> None:
    """Insert a row unless one with its primary key exists (race-free on both backends)."""
    conn.execute(_insert_ignoring(conn, table).values(**values))


def _insert_ignoring(conn: Connection, table: sa.Table) -> sa.Insert:
    """An insert that skips rows whose primary key exists (race-free on both backends)."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise NotImplementedError(f"no insert-or-ignore for {dialect}")


def _insert_entries(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert entries many to a statement; return their ids in the order of `rows`."""
    if conn.dialect.name == "sqlite":
        # SQLite does not promise the order of a multi-row RETURNING, so SQLAlchemy would
        # insert row by row; the writer holds the write lock, so it can number the rows itself.
        first = (conn.scalar(sa.select(sa.func.max(entries.c.id))) or 0) + 1
        ids = list(range(first, first + len(rows)))
        conn.execute(entries.insert(), [{**row, "id": i} for row, i in zip(rows, ids, strict=True)])
        return ids
    returning = entries.insert().returning(entries.c.id, sort_by_parameter_order=True)
    return list(conn.scalars(returning, rows))


def _known_keys(conn: Connection, keys: list[str]) -> list[str]:
    """Return which of `keys` are recorded (fetched at once: row by row costs 20 us a row)."""
    return list(conn.scalars(sa.select(entry_keys.c.key).where(entry_keys.c.key.in_(keys))).all())


def _insert_keys(conn: Connection, keys: list[tuple[str, int]], now: datetime) -> None:
    """Insert (key, entry id) pairs seen at `now`, skipping keys that exist."""
    if conn.dialect.name != "sqlite":
        rows = [{"key": key, "entry_id": entry_id, "seen_at": now} for key, entry_id in keys]
        conn.execute(_insert_ignoring(conn, entry_keys), rows)
        return
    # A first poll of many feeds writes some 100,000 keys: handed to the driver as they are,
    # with the time converted once by SQLAlchemy's own processor, instead of row by row.
    column_type = entry_keys.c.seen_at.type.dialect_impl(conn.dialect)
    convert = column_type.bind_processor(conn.dialect)
    seen_at = convert(now) if convert is not None else now
    conn.exec_driver_sql(
        "INSERT INTO entry_keys (key, entry_id, seen_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        [(key, entry_id, seen_at) for key, entry_id in keys],
    )


def _entry_row(feed_name: str, item: NewEntry, now: datetime) -> dict[str, Any]:
    """The `entries` row of an item; one recorded without an article (read only by the
    pre-scan, outside the backlog window) keeps no text."""
    entry = item.entry
    return {
        "feed": feed_name,
        "guid": entry.guid,
        "link": entry.link,
        "title": entry.title,
        "published_at": entry.published,
        "seen_at": now,
        "text": item.article.text if item.article else None,
        "from_page": item.article.from_page if item.article else None,
        "story": item.story if item.alerts else None,
        "story_note": item.note if item.alerts else None,
    }


def _article(row: Any) -> Article:
    entry = Entry(
        feed=row["feed"],
        guid=row["guid"],
        link=row["link"],
        title=row["title"],
        summary="",
        published=_utc(row["published_at"]),
    )
    return Article(entry, row["text"] or "", bool(row["from_page"]))


def _feed_state(row: Any) -> FeedState:
    return FeedState(
        name=row["name"],
        url=row["url"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        first_polled_at=_utc(row["first_polled_at"]),
        last_success_at=_utc(row["last_success_at"]),
        last_error_at=_utc(row["last_error_at"]),
        last_error=row["last_error"],
        consecutive_errors=row["consecutive_errors"],
        poll_url=row["poll_url"],
        next_poll_at=_utc(row["next_poll_at"]),
        gone_at=_utc(row["gone_at"]),
        lease_owner=row["lease_owner"],
        lease_until=_utc(row["lease_until"]),
        body_hash=row["body_hash"],
    )


def _chat_state(row: Any) -> ChatState:
    return ChatState(
        name=row["name"],
        chat_id=row["chat_id"],
        moved_to=row["moved_to"],
        disabled_at=_utc(row["disabled_at"]),
        disabled_reason=row["disabled_reason"],
    )


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
        raise StoreError(f"cannot use the database {safe_url(url)}: {_reason(exc, url)}") from None
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_connect)
        sa.event.listen(engine, "begin", _sqlite_begin)
    sa.event.listen(engine, "handle_error", _Outages(url))
    return engine


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
        reason = _reason(context.original_exception, self.url)
        sqlite = context.dialect is not None and context.dialect.name == "sqlite"
        if sqlite and not any(word in reason.lower() for word in _SQLITE_OUTAGES):
            return  # a bad statement, i.e. a bug: let it show as one
        context.is_disconnect = True
        cursor = getattr(context.execution_context, "cursor", None)
        if cursor is not None:
            # An open statement would keep the dropped connection alive until the garbage
            # collector runs, and with it SQLite's read-only view of the files.
            with contextlib.suppress(Exception):
                cursor.close()
        raise StoreUnavailable(
            f"the database {safe_url(self.url)} is unavailable: {reason}", reason
        )


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


def _utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _dump_alert(alert: Alert) -> str:
    data = asdict(alert)
    data["published"] = alert.published.isoformat() if alert.published else None
    return json.dumps(data, ensure_ascii=False)


def _load_alert(payload: str) -> Alert:
    data = json.loads(payload)
    return Alert(
        chat=data["chat"],
        chat_id=data["chat_id"],
        title=data["title"],
        link=data["link"],
        outlet=data["outlet"],
        published=datetime.fromisoformat(data["published"]) if data["published"] else None,
        topics=tuple(data["topics"]),
        snippet=data["snippet"],
        highlights=tuple(Span(h["start"], h["end"]) for h in data["highlights"]),
        from_page=data["from_page"],
        blocked_by=data.get("blocked_by"),  # absent in alerts stored before it existed
    )
