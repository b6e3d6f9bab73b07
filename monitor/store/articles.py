"""Entries read back as articles: for the story index, search, backtests and the bot's /why."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from monitor.models import Article, Entry
from monitor.store.engine import Database, utc
from monitor.store.schema import entries


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """A stored entry's id, title, text, time and story, to rebuild the story index."""

    id: int
    title: str
    text: str
    seen_at: datetime
    story: str | None


class Articles:
    """The text kept of each entry read as an article, and the story it joined."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def stored(self, since: datetime, after_id: int = 0) -> Iterator[StoredArticle]:
        """Yield entries seen since `since` (and numbered after `after_id`) with their story,
        oldest first, in batches: those read as articles, not the backlog items, whether the
        pre-scan or feedparser read them (the running service never counts those either)."""
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
        with self.db.read() as conn:
            for row in conn.execution_options(yield_per=1000).execute(query):
                yield StoredArticle(
                    row.id, row.title, row.text or "", utc(row.seen_at) or since, row.story
                )

    def count(self, since: datetime | None = None) -> int:
        """Return how many entries were seen since `since` (all when None)."""
        query = sa.select(sa.func.count()).select_from(entries)
        if since is not None:
            query = query.where(entries.c.seen_at >= since)
        with self.db.read() as conn:
            return int(conn.scalar(query) or 0)

    def all(
        self, since: datetime | None = None, newest_first: bool = False
    ) -> Generator[Article, None, None]:
        """Yield stored entries as articles, oldest (or newest) first, reading in batches."""
        query = sa.select(entries).order_by(entries.c.id.desc() if newest_first else entries.c.id)
        if since is not None:
            query = query.where(entries.c.seen_at >= since)
        with self.db.read() as conn:
            for row in conn.execution_options(yield_per=500).execute(query).mappings():
                yield article_of(row)

    def get(self, entry_id: int) -> Article | None:
        """Return the stored text of one entry as an article."""
        with self.db.read() as conn:
            row = (
                conn.execute(sa.select(entries).where(entries.c.id == entry_id)).mappings().first()
            )
        return article_of(row) if row is not None else None

    def story_note(self, entry_id: int) -> str | None:
        """Return why an alerted entry joined or opened its story, if recorded."""
        with self.db.read() as conn:
            note = conn.scalar(sa.select(entries.c.story_note).where(entries.c.id == entry_id))
        return str(note) if note else None


def article_of(row: Any) -> Article:
    """Return an `entries` row (a mapping) as an article."""
    entry = Entry(
        feed=row["feed"],
        guid=row["guid"],
        link=row["link"],
        title=row["title"],
        summary="",
        published=utc(row["published_at"]),
    )
    return Article(entry, row["text"] or "", bool(row["from_page"]))
