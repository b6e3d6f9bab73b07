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


class Entries:
    """Entries seen in feeds, their identity keys (GUID, canonical URL), and their alerts."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def unseen(self, candidates: Sequence[tuple[Entry, tuple[str, ...]]]) -> list[int]:
        """Return indexes of candidates with no key seen before, in the store or earlier here."""
        wanted = {key for _, keys in candidates for key in keys}
        seen: set[str] = set()
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
    ) -> int:
        """Store entries, their keys and their alerts in one transaction; return alerts queued.

        Entries without alerts (most of them: items outside the backlog window, articles that
        match no topic) are written many to a statement; each with alerts has a savepoint of
        its own. The ids of the entries written are added to `inserted`, when given.
        """
        with self.db.write() as conn:
            return record_in(conn, feed_name, items, now, inserted)

    def forget_keys(self, before: datetime) -> int:
        """Drop identity keys first seen before `before`; return how many."""
        with self.db.write() as conn:
            result = conn.execute(entry_keys.delete().where(entry_keys.c.seen_at < before))
        return result.rowcount or 0


def record_in(
    conn: Connection,
    feed_name: str,
    items: Iterable[NewEntry],
    now: datetime,
    inserted: set[int] | None = None,
) -> int:
    """`Entries.record` inside the caller's transaction `conn`."""
    queued = 0
    written: set[int] = set()
    quiet: list[NewEntry] = []
    for item in items:
        if not item.alerts:
            quiet.append(item)
            continue
        _record_quiet(conn, feed_name, quiet, now, written)
        quiet = []
        queued += _record_one(conn, feed_name, item, now, written)
    _record_quiet(conn, feed_name, quiet, now, written)
    if inserted is not None:
        inserted |= written
    return queued


def _record_quiet(
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
    pairs = zip(ids, kept, strict=True)
    _insert_keys(conn, [(key, entry_id) for entry_id, item in pairs for key in item.keys], now)
    # Only entries with an article reach the story index, which is what the ids are for.
    inserted_ids.update(i for i, item in zip(ids, kept, strict=True) if item.article)


def _record_one(
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
            queued = _insert_one(conn, feed_name, item, now, written)
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
                payload=dump_alert(alert),
                created_at=now,
                status="pending",
                story=item.story,
                kind=item.kind,
                thread=item.thread,
            )
        )
    return len(item.alerts)


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
