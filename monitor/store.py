"""Remember what happened (SQLAlchemy Core): migrations, feed state, seen keys, the alert outbox.

Uniqueness lives in the schema: an entry is new when none of its keys is in `entry_keys`, and
entries, their keys and their alerts are written in one transaction, so a crash either keeps all
of them (and the alerts are still pending in the outbox) or none (and the entry is seen again).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from monitor.models import Alert, Article, Entry, Span

metadata = sa.MetaData()

schema_migrations = sa.Table(
    "schema_migrations",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
)
feeds = sa.Table(
    "feeds",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("first_polled_at", sa.DateTime(timezone=True)),
    sa.Column("last_success_at", sa.DateTime(timezone=True)),
    sa.Column("last_error_at", sa.DateTime(timezone=True)),
    sa.Column("last_error", sa.Text),
    sa.Column("consecutive_errors", sa.Integer, nullable=False, server_default="0"),
    sa.Column("poll_url", sa.Text),  # where a permanent redirect moved the feed
    sa.Column("next_poll_at", sa.DateTime(timezone=True)),
    sa.Column("gone_at", sa.DateTime(timezone=True)),  # answered 410 Gone
)
entries = sa.Table(
    "entries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("feed", sa.String(200), nullable=False),
    sa.Column("guid", sa.Text),
    sa.Column("link", sa.Text),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True)),
    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("text", sa.Text),
    sa.Column("from_page", sa.Boolean),
)
entry_keys = sa.Table(
    "entry_keys",
    metadata,
    sa.Column("key", sa.String(2048), primary_key=True),
    sa.Column("entry_id", sa.Integer, sa.ForeignKey("entries.id"), nullable=False),
    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
)
alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("entry_id", sa.Integer, sa.ForeignKey("entries.id"), nullable=False),
    sa.Column("chat", sa.String(200), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # pending | sent | failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.Column("message_id", sa.String(100)),
    sa.UniqueConstraint("entry_id", "chat", name="one_alert_per_entry_and_chat"),
    sa.Index("alerts_by_status", "status", "id"),
)


heartbeats = sa.Table(
    "heartbeats",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
)


def _m001_initial(conn: Connection) -> None:
    # The feeds table as version 1 had it; later columns arrive through later migrations.
    feeds_v1 = sa.Table(
        "feeds",
        sa.MetaData(),
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("first_polled_at", sa.DateTime(timezone=True)),
        sa.Column("last_success_at", sa.DateTime(timezone=True)),
        sa.Column("last_error_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text),
        sa.Column("consecutive_errors", sa.Integer, nullable=False, server_default="0"),
    )
    feeds_v1.create(conn)
    for table in (entries, entry_keys, alerts):
        table.create(conn)


_ADDED_IN_002 = ("poll_url", "next_poll_at", "gone_at")


def _m002_feed_schedule(conn: Connection) -> None:
    for name in _ADDED_IN_002:
        column_type = feeds.c[name].type.compile(dialect=conn.dialect)
        conn.execute(sa.text(f"ALTER TABLE feeds ADD COLUMN {name} {column_type}"))


def _m003_heartbeats(conn: Connection) -> None:
    heartbeats.create(conn)


# Append only: a migration that has shipped is never edited, only followed by a new one.
MIGRATIONS: tuple[tuple[str, Callable[[Connection], None]], ...] = (
    ("initial", _m001_initial),
    ("feed schedule: poll_url, next_poll_at, gone_at", _m002_feed_schedule),
    ("heartbeats", _m003_heartbeats),
)


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


@dataclass(frozen=True, slots=True)
class NewEntry:
    """An entry to record, with its identity keys, the article text (if any) and its alerts."""

    entry: Entry
    keys: tuple[str, ...]
    article: Article | None
    alerts: tuple[Alert, ...]


@dataclass(frozen=True, slots=True)
class PendingAlert:
    """An alert in the outbox, waiting to be delivered."""

    id: int
    alert: Alert
    attempts: int


class Store:
    """The database behind the service; every method is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> Store:
        """Connect to `url` (creating a SQLite file's directory) and apply pending migrations."""
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url)
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_pragmas)
        store = cls(engine)
        store.migrate()
        return store

    def close(self) -> None:
        """Release every connection."""
        self.engine.dispose()

    def migrate(self) -> None:
        """Apply each migration not yet recorded, each in its own transaction."""
        with self.engine.begin() as conn:
            schema_migrations.create(conn, checkfirst=True)
        for version, (name, apply) in enumerate(MIGRATIONS, start=1):
            with self.engine.begin() as conn:
                done = conn.scalar(
                    sa.select(sa.func.count()).where(schema_migrations.c.version == version)
                )
                if done:
                    continue
                apply(conn)
                conn.execute(
                    schema_migrations.insert().values(
                        version=version, name=name, applied_at=datetime.now(UTC)
                    )
                )

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
        with self.engine.begin() as conn:
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
                )
            )

    def unseen(self, candidates: Sequence[tuple[Entry, tuple[str, ...]]]) -> list[int]:
        """Return indexes of candidates with no key seen before, in the store or earlier here."""
        wanted = {key for _, keys in candidates for key in keys}
        seen: set[str] = set()
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(wanted), 500):
                seen.update(
                    conn.scalars(sa.select(entry_keys.c.key).where(entry_keys.c.key.in_(chunk)))
                )
        fresh = []
        for index, (_, keys) in enumerate(candidates):
            if not seen.intersection(keys):
                fresh.append(index)
                seen.update(keys)  # a duplicate later in the same feed is not new either
        return fresh

    def record(self, feed_name: str, items: Iterable[NewEntry], now: datetime) -> int:
        """Store entries, their keys and their alerts in one transaction; return alerts queued."""
        queued = 0
        with self.engine.begin() as conn:
            for item in items:
                queued += self._record_one(conn, feed_name, item, now)
        return queued

    def _record_one(self, conn: Connection, feed_name: str, item: NewEntry, now: datetime) -> int:
        existing = conn.scalar(sa.select(entry_keys.c.key).where(entry_keys.c.key.in_(item.keys)))
        if existing is not None:
            return 0  # another poll recorded the same article meanwhile
        entry = item.entry
        inserted = conn.execute(
            entries.insert().values(
                feed=feed_name,
                guid=entry.guid,
                link=entry.link,
                title=entry.title,
                published_at=entry.published,
                seen_at=now,
                text=item.article.text if item.article else None,
                from_page=item.article.from_page if item.article else None,
            )
        ).inserted_primary_key
        assert inserted is not None
        entry_id = inserted[0]
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
    ) -> None:
        """Record a successful poll (and new validators, when the server sent a body)."""
        values: dict[str, Any] = {
            "url": url,
            "last_success_at": now,
            "consecutive_errors": 0,
            "last_error": None,
            "gone_at": None,
            "next_poll_at": next_poll_at,
        }
        if validators is not None:
            values["etag"], values["last_modified"] = validators
        if poll_url is not None:
            values["poll_url"] = poll_url
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
        }
        if gone:
            values["gone_at"] = now
        self._upsert_feed(name, url, values, now)

    def _upsert_feed(self, name: str, url: str, values: dict[str, Any], now: datetime) -> None:
        with self.engine.begin() as conn:
            updated = conn.execute(feeds.update().where(feeds.c.name == name).values(**values))
            if updated.rowcount == 0:
                fresh = {k: v for k, v in values.items() if k != "consecutive_errors"}
                errors = 1 if "last_error_at" in values else 0
                conn.execute(
                    feeds.insert().values(
                        name=name, first_polled_at=now, consecutive_errors=errors, **fresh
                    )
                )

    def pending_alerts(self, limit: int = 100) -> list[PendingAlert]:
        """Return undelivered alerts, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(alerts.c.id, alerts.c.payload, alerts.c.attempts)
                .where(alerts.c.status == "pending")
                .order_by(alerts.c.id)
                .limit(limit)
            ).all()
        return [PendingAlert(row.id, _load_alert(row.payload), row.attempts) for row in rows]

    def mark_sent(self, alert_id: int, message_id: str | None, now: datetime) -> None:
        """Record that an alert reached its chat."""
        with self.engine.begin() as conn:
            conn.execute(
                alerts.update()
                .where(alerts.c.id == alert_id)
                .values(
                    status="sent",
                    sent_at=now,
                    message_id=message_id,
                    attempts=alerts.c.attempts + 1,
                )
            )

    def mark_attempt_failed(self, alert_id: int, error: str, *, permanent: bool) -> None:
        """Record a failed delivery; a permanent failure leaves the outbox as `failed`."""
        with self.engine.begin() as conn:
            conn.execute(
                alerts.update()
                .where(alerts.c.id == alert_id)
                .values(
                    attempts=alerts.c.attempts + 1,
                    last_error=error,
                    status="failed" if permanent else "pending",
                )
            )

    def count_articles(self, since: datetime | None = None) -> int:
        """Return how many entries were seen since `since` (all when None)."""
        query = sa.select(sa.func.count()).select_from(entries)
        if since is not None:
            query = query.where(entries.c.seen_at >= since)
        with self.engine.connect() as conn:
            return int(conn.scalar(query) or 0)

    def articles(self, since: datetime | None = None) -> Iterator[Article]:
        """Yield stored entries as articles, oldest first, reading in batches."""
        query = sa.select(entries).order_by(entries.c.id)
        if since is not None:
            query = query.where(entries.c.seen_at >= since)
        with self.engine.connect() as conn:
            for row in conn.execution_options(yield_per=500).execute(query).mappings():
                entry = Entry(
                    feed=row["feed"],
                    guid=row["guid"],
                    link=row["link"],
                    title=row["title"],
                    summary="",
                    published=_utc(row["published_at"]),
                )
                yield Article(entry, row["text"] or "", bool(row["from_page"]))

    def beat(self, now: datetime, name: str = "service") -> None:
        """Record that the service's loop is alive and can write to the database."""
        with self.engine.begin() as conn:
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

    def alert_counts(self) -> dict[str, int]:
        """Return how many alerts are in each status."""
        with self.engine.connect() as conn:
            count = sa.func.count().label("n")
            query = sa.select(alerts.c.status, count).group_by(alerts.c.status)
            return {row.status: row.n for row in conn.execute(query)}


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
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


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
