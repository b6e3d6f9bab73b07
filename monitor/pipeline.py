"""Run one feed through the stages in order: fetch, parse, dedup, pages, extract, match, store."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from monitor.config import FeedConfig, Settings
from monitor.dedup import entry_keys
from monitor.errors import FetchError, ParseError
from monitor.extract import extract_text
from monitor.fetch import PAGE_ACCEPT, Fetched, NotModified, Validators, fetch
from monitor.match import Matcher, Topic
from monitor.models import Alert, Article, Entry, Match
from monitor.parse import parse_feed
from monitor.store import FeedState, NewEntry, Store

logger = logging.getLogger(__name__)

PAGES_IN_FLIGHT_PER_FEED = 4


@dataclass(frozen=True, slots=True)
class Deps:
    """The long-lived resources a poll needs, owned by `app.App`."""

    http: httpx.AsyncClient
    store: Store
    pool: Executor
    settings: Settings
    topics: Sequence[Topic]
    matcher: Matcher
    chats: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class PollResult:
    """What one poll of one feed did."""

    feed: str
    ok: bool
    new: int = 0
    skipped_old: int = 0
    alerts: int = 0
    error: str | None = None


async def poll_feed(feed: FeedConfig, deps: Deps, now: datetime) -> PollResult:
    """Poll one feed; never raises: failures are logged, recorded against the feed and returned."""
    try:
        return await _poll(feed, deps, now)
    except (FetchError, ParseError) as exc:
        error = str(exc)
        logger.warning("feed %s failed: %s", feed.name, error)
    except Exception as exc:  # the one broad catch: one feed's bug must not stop the others
        error = f"internal error ({type(exc).__name__})"
        logger.exception("feed %s failed with an internal error", feed.name)
    deps.store.feed_failed(feed.name, feed.url, error, now)
    return PollResult(feed.name, ok=False, error=error)


async def _poll(feed: FeedConfig, deps: Deps, now: datetime) -> PollResult:
    state = deps.store.feed_state(feed.name)
    fetched = await fetch(
        deps.http, feed.url, max_bytes=deps.settings.max_feed_bytes, validators=_validators(state)
    )
    if isinstance(fetched, NotModified):
        deps.store.feed_polled(feed.name, feed.url, None, now)
        return PollResult(feed.name, ok=True)
    loop = asyncio.get_running_loop()
    entries = await loop.run_in_executor(
        deps.pool, parse_feed, feed.name, fetched.body, fetched.headers
    )
    candidates = [(entry, entry_keys(entry)) for entry in entries]
    fresh = [candidates[i] for i in deps.store.unseen(candidates)]
    first_poll = state is None or state.last_success_at is None
    cutoff = now - timedelta(hours=deps.settings.backlog_hours)
    old = [(e, k) for e, k in fresh if _is_old(e, cutoff, first_poll)]
    new = [(e, k) for e, k in fresh if not _is_old(e, cutoff, first_poll)]
    gate = asyncio.Semaphore(PAGES_IN_FLIGHT_PER_FEED)
    articles = await asyncio.gather(*(_article(entry, deps, gate) for entry, _ in new))
    # Older items keep their summary, so `monitor backtest` has something to match them on.
    items = [NewEntry(e, k, Article(e, e.summary, from_page=False), ()) for e, k in old]
    for (entry, keys), article in zip(new, articles, strict=True):
        matches = deps.matcher.match(article)
        items.append(NewEntry(entry, keys, article, _alerts(feed, article, matches, deps)))
    queued = deps.store.record(feed.name, items, now)
    validators = (fetched.validators.etag, fetched.validators.last_modified)
    deps.store.feed_polled(feed.name, feed.url, validators, now)
    if old:
        logger.info("feed %s: %d older items recorded without alerting", feed.name, len(old))
    logger.info("feed %s: %d new items, %d alerts queued", feed.name, len(new), queued)
    return PollResult(feed.name, ok=True, new=len(new), skipped_old=len(old), alerts=queued)


def _validators(state: FeedState | None) -> Validators | None:
    if state is None or not (state.etag or state.last_modified):
        return None
    return Validators(state.etag, state.last_modified)


def _is_old(entry: Entry, cutoff: datetime, first_poll: bool) -> bool:
    """On a feed's first poll undated items count as old; later, only dated old ones do."""
    if entry.published is None:
        return first_poll
    return entry.published < cutoff


async def _article(entry: Entry, deps: Deps, gate: asyncio.Semaphore) -> Article:
    """Fetch and extract the entry's page; fall back to the feed's title and summary."""
    fallback = Article(entry, entry.summary, from_page=False)
    if not entry.link:
        return fallback
    async with gate:
        try:
            page = await fetch(
                deps.http,
                entry.link,
                max_bytes=deps.settings.max_page_bytes,
                accept=PAGE_ACCEPT,
                guard=not deps.settings.allow_private_networks,
            )
        except FetchError as exc:
            logger.info(
                "feed %s: page %s not fetched (%s); using the feed summary",
                entry.feed,
                entry.link,
                exc,
            )
            return fallback
        if not isinstance(page, Fetched):
            return fallback
        loop = asyncio.get_running_loop()
        try:
            text = await loop.run_in_executor(deps.pool, extract_text, page.body, page.url)
        except Exception:  # a page that crashes the extractor must not cost us the entry
            logger.exception(
                "feed %s: extraction of %s failed; using the feed summary", entry.feed, entry.link
            )
            return fallback
    return Article(entry, text, from_page=True) if text else fallback


def _alerts(
    feed: FeedConfig, article: Article, matches: list[Match], deps: Deps
) -> tuple[Alert, ...]:
    """Make one alert per chat, naming every topic that matched for that chat."""
    by_chat: dict[str, list[Match]] = {}
    chats_of = {topic.name: topic.chats for topic in deps.topics}
    for found in matches:
        for chat in chats_of[found.topic]:
            by_chat.setdefault(chat, []).append(found)
    entry = article.entry
    return tuple(
        Alert(
            chat=chat,
            chat_id=deps.chats[chat],
            title=entry.title,
            link=entry.link,
            outlet=feed.name,
            published=entry.published,
            topics=tuple(found.topic for found in found_list),
            snippet=found_list[0].snippet,
            highlights=found_list[0].highlights,
            from_page=article.from_page,
        )
        for chat, found_list in by_chat.items()
    )
