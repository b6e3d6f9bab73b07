"""What a matched article becomes: one alert per chat naming every topic matched there, and
its place in a story (new, the same report again, or a follow-up)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from monitor.config import FeedConfig
from monitor.match import Topic
from monitor.models import Alert, Article, Match
from monitor.page import absolute
from monitor.store import NewEntry
from monitor.stories import StoryIndex, place

logger = logging.getLogger(__name__)


def alerts_for(
    feed: FeedConfig,
    article: Article,
    matches: list[Match],
    topics: Sequence[Topic],
    chats: Mapping[str, str],
) -> tuple[Alert, ...]:
    """Make one alert per chat, naming every topic that matched for that chat (`chats`: the
    configured chat ids by name)."""
    by_chat: dict[str, list[Match]] = {}
    chats_of = {topic.name: topic.chats for topic in topics}
    for found in matches:
        for chat in chats_of[found.topic]:
            by_chat.setdefault(chat, []).append(found)
    entry = article.entry
    return tuple(
        Alert(
            chat=chat,
            chat_id=chats[chat],
            title=entry.title,
            link=absolute(feed.url, entry.link),
            outlet=feed.name,
            published=entry.published,
            topics=tuple(found.topic for found in found_list),
            snippet=found_list[0].snippet,
            highlights=found_list[0].highlights,
            from_page=article.from_page,
            blocked_by=article.blocked_by,
        )
        for chat, found_list in by_chat.items()
    )


def placed_in_story(item: NewEntry, stories: StoryIndex, now: datetime) -> NewEntry:
    """Count the article towards the story index and, if it alerts, place it in a story.

    An internal error while placing it leaves it a story of its own, as a new event would be:
    it still alerts and its feed's poll still records, where the error would otherwise fail
    the poll on every try (the placement runs inside the poll's transaction).
    """
    try:
        return _placed(item, stories, now)
    except Exception:
        logger.exception(
            "feed %s: %r could not be placed in a story (internal error); it alerts as a "
            "story of its own",
            item.entry.feed,
            item.entry.title,
        )
        if not item.alerts:
            return item
        note = "a story of its own: placing it in the window failed"
        return replace(item, story=item.keys[0], kind="new", thread=None, note=note)


def _placed(item: NewEntry, stories: StoryIndex, now: datetime) -> NewEntry:
    assert item.article is not None
    if not item.alerts:
        stories.observe_text(item.entry.title, item.article.text, now)
        return item
    placed = place(stories, item.keys[0], item.entry.title, item.article.text, now)
    note = placed.describe(stories.titles())
    if placed.kind != "new" or placed.compared_with is not None:
        logger.info("feed %s: %r is %s", item.entry.feed, item.entry.title, note)
    return NewEntry(
        item.entry,
        item.keys,
        item.article,
        item.alerts,
        story=placed.story,
        kind=placed.kind,
        thread=placed.continues,
        note=note,
    )


def per_chat(items: Sequence[NewEntry]) -> dict[str, int]:
    """Count the alerts of `items` per chat."""
    counts: dict[str, int] = {}
    for item in items:
        for alert in item.alerts:
            counts[alert.chat] = counts.get(alert.chat, 0) + 1
    return counts
