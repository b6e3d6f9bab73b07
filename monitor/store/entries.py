"""The `entries` and `entry_keys` tables: what was seen, and the keys that say it was.

Uniqueness lives in the schema: an entry is new when none of its keys is in `entry_keys`, and
entries, their keys and their alerts are written in one transaction, so a crash either keeps all
of them (and the alerts are still pending in the outbox) or none (and the entry is seen again).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.models import Alert, Article, Entry
from monitor.store.engine import Database, chunks, insert_ignoring
from monitor.store.outbox import dump_alert
from monitor.store.schema import alerts, entries, entry_keys

logger = logging.getLogger(__name__)


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
    # Outside the backlog window: its summary is kept for `monitor backtest`, but it was never
    # read as an article, so the story index (live or rebuilt) does not count it.
    backlog: bool = False


class Entries:
    """Entries seen in feeds, their identity keys (GUID, canonical URL), and their alerts."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def unseen(
        self,
        candidates: Sequence[tuple[Entry, tuple[str, ...]]],
        checked: frozenset[str] = frozenset(),
    ) -> list[int]:
        """Return indexes of candidates with no key seen before, in the store or earlier here.

        Keys in `checked` are known unseen already (the caller asked moments ago): when every
        key is, the database is not asked.
        """
        wanted = {key for _, keys in candidates for key in keys} - checked
        seen: set[str] = set()
        if wanted:
            with self.db.read() as conn:
                for chunk in chunks(sorted(wanted), 500):
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
        written: set[int] | None = None,
    ) -> int:
        """Store entries, their keys and their alerts in one transaction; return alerts queued.

        Entries without alerts (most of them: items outside the backlog window, articles that
        match no topic) are written many to a statement; each with alerts is written with its
        keys and alerts, or not at all when one of its keys is taken (another feed or replica
        recorded the same article meanwhile). The ids of the entries written with an article
        are added to `inserted`, and those of every entry written to `written`, when given.
        """
        with self.db.write() as conn:
            return _record(conn, feed_name, items, now, inserted, written)

    def forget_keys(self, before: datetime) -> int:
        """Drop identity keys first seen before `before`; return how many."""
        with self.db.write() as conn:
            result = conn.execute(entry_keys.delete().where(entry_keys.c.seen_at < before))
        return result.rowcount or 0


def _record(
    conn: Connection,
    feed_name: str,
    items: Iterable[NewEntry],
    now: datetime,
    inserted: set[int] | None,
    written: set[int] | None,
) -> int:
    queued = 0
    articles: set[int] = set()
    every: set[int] = set()
    quiet: list[NewEntry] = []
    for item in items:
        if not item.alerts:
            quiet.append(item)
            continue
        _record_quiet(conn, feed_name, quiet, now, articles, every)
        quiet = []
        queued += _record_alerted(conn, feed_name, item, now, articles, every)
    _record_quiet(conn, feed_name, quiet, now, articles, every)
    if inserted is not None:
        inserted |= articles
    if written is not None:
        written |= every
    return queued


def _record_quiet(
    conn: Connection,
    feed_name: str,
    items: Sequence[NewEntry],
    now: datetime,
    inserted_ids: set[int],
    written: set[int],
) -> None:
    """Write entries that alert nobody, skipping any whose key is known already.

    Should another replica write one of the keys in between (PostgreSQL), that key is left
    to it and our copy of the entry keeps the others: it alerts nobody either way.
    """
    if not items:
        return
    present: set[str] = set()
    for chunk in chunks(sorted({key for item in items for key in item.keys}), 500):
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
    written.update(ids)
    pairs = zip(ids, kept, strict=True)
    _insert_keys(conn, [(key, entry_id) for entry_id, item in pairs for key in item.keys], now)
    # Only entries with an article reach the story index, which is what the ids are for.
    inserted_ids.update(i for i, item in zip(ids, kept, strict=True) if item.article)


def _record_alerted(
    conn: Connection,
    feed_name: str,
    item: NewEntry,
    now: datetime,
    inserted_ids: set[int],
    written: set[int],
) -> int:
    # Replicas may record the same article (in two feeds) at once: its keys are inserted
    # unless taken (ON CONFLICT DO NOTHING, which waits for a rival's commit on PostgreSQL),
    # and an entry that did not get every key is taken back, alerts and all. The one other
    # constraint an entry can break (one alert per chat) is checked here, before writing, so
    # no statement fails and no savepoint is needed: the poll's other entries stay.
    chats = [alert.chat for alert in item.alerts]
    if len(set(chats)) < len(chats):
        logger.warning(
            "feed %s: entry %r not recorded: two alerts for one chat",
            feed_name,
            item.entry.title[:80],
        )
        return 0
    if conn.dialect.name == "postgresql":
        entry_id, complete = _insert_chain(conn, feed_name, item, now)
    else:
        entry_id, complete = _insert_in_steps(conn, feed_name, item, now)
    written.add(entry_id)
    if not complete:
        conn.execute(entry_keys.delete().where(entry_keys.c.entry_id == entry_id))
        conn.execute(entries.delete().where(entries.c.id == entry_id))
        logger.info(
            "feed %s: entry %r was recorded meanwhile (another feed or replica)",
            feed_name,
            item.entry.title[:80],
        )
        return 0
    inserted_ids.add(entry_id)
    return len(item.alerts)


def _insert_in_steps(
    conn: Connection, feed_name: str, item: NewEntry, now: datetime
) -> tuple[int, bool]:
    """Insert an entry, its keys and (when every key was free) its alerts; return the entry's
    id and whether every key was free."""
    inserted = conn.execute(
        entries.insert().values(**_entry_row(feed_name, item, now))
    ).inserted_primary_key
    assert inserted is not None
    entry_id = int(inserted[0])
    rows = [{"key": key, "entry_id": entry_id, "seen_at": now} for key in item.keys]
    taken = conn.scalars(insert_ignoring(conn, entry_keys).returning(entry_keys.c.key), rows)
    if len(taken.all()) < len(item.keys):
        return entry_id, False
    conn.execute(alerts.insert(), [_alert_row(entry_id, alert, item, now) for alert in item.alerts])
    return entry_id, True


def _insert_chain(
    conn: Connection, feed_name: str, item: NewEntry, now: datetime
) -> tuple[int, bool]:
    """`_insert_in_steps` in one statement (PostgreSQL's data-modifying WITH): the entry, its
    keys, and its alerts only when the keys inserted are as many as the entry has."""
    entry = entries.insert().values(**_entry_row(feed_name, item, now))
    new_entry = entry.returning(entries.c.id).cte("new_entry")
    seen_at = sa.literal(now, entry_keys.c.seen_at.type)
    key_rows = sa.values(sa.column("key", sa.String), name="key_rows").data(
        [(key,) for key in item.keys]
    )
    new_keys = (
        insert_ignoring(conn, entry_keys)
        .from_select(
            ["key", "entry_id", "seen_at"],
            sa.select(key_rows.c.key, new_entry.c.id, seen_at).select_from(
                new_entry.join(key_rows, sa.true())
            ),
        )
        .returning(entry_keys.c.key)
        .cte("new_keys")
    )
    complete = sa.select(sa.func.count()).select_from(new_keys).scalar_subquery() == len(item.keys)
    alert_rows = sa.values(
        sa.column("chat", sa.String), sa.column("payload", sa.Text), name="alert_rows"
    ).data([(alert.chat, dump_alert(alert)) for alert in item.alerts])
    constants = [
        sa.literal(now, alerts.c.created_at.type),
        sa.literal("pending", alerts.c.status.type),
        sa.literal(item.story, alerts.c.story.type),
        sa.literal(item.kind, alerts.c.kind.type),
        sa.literal(item.thread, alerts.c.thread.type),
    ]
    new_alerts = (
        alerts.insert()
        .from_select(
            ["entry_id", "chat", "payload", "created_at", "status", "story", "kind", "thread"],
            sa.select(new_entry.c.id, alert_rows.c.chat, alert_rows.c.payload, *constants)
            .select_from(new_entry.join(alert_rows, sa.true()))
            .where(complete),
        )
        .cte("new_alerts")
    )
    row = conn.execute(
        sa.select(new_entry.c.id, complete.label("complete")).add_cte(new_keys, new_alerts)
    ).one()
    return int(row.id), bool(row.complete)


def _alert_row(entry_id: int, alert: Alert, item: NewEntry, now: datetime) -> dict[str, Any]:
    return {
        "entry_id": entry_id,
        "chat": alert.chat,
        "payload": dump_alert(alert),
        "created_at": now,
        "status": "pending",
        "story": item.story,
        "kind": item.kind,
        "thread": item.thread,
    }


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
        conn.execute(insert_ignoring(conn, entry_keys), rows)
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
    pre-scan, outside the backlog window) keeps no text, and no backlog item has `from_page`
    (the mark of an article the story index counted)."""
    entry = item.entry
    return {
        "feed": feed_name,
        "guid": entry.guid,
        "link": entry.link,
        "title": entry.title,
        "published_at": entry.published,
        "seen_at": now,
        "text": item.article.text if item.article else None,
        "from_page": item.article.from_page if item.article and not item.backlog else None,
        "story": item.story if item.alerts else None,
        "story_note": item.note if item.alerts else None,
    }
