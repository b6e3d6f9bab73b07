"""Run one feed through the stages in order: fetch, parse, dedup, pages, extract, match, store."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from monitor.alerting import alerts_for, per_chat, placed_in_story
from monitor.config import FeedConfig, Settings
from monitor.dedup import entry_keys
from monitor.errors import FetchError, GoneError, ParseError, StoreUnavailable
from monitor.fetch import Fetched, HostGate, HttpClient, NotModified, Validators, fetch
from monitor.match import Matcher, Topic
from monitor.metrics import Metrics
from monitor.models import Alert, Article, Entry
from monitor.outages import Outages
from monitor.page import read_article
from monitor.schedule import jitter
from monitor.store import FeedState, NewEntry, Polled, Store, Unchanged
from monitor.stories import StoryIndex
from monitor.unchanged import UnchangedPolls
from monitor.workers import WorkerPool

# The parsers (feedparser, lxml) are imported with the first body to read: a round of 304s
# never needs them.
if TYPE_CHECKING:
    from monitor.parse import ParsedFeed, Scan

logger = logging.getLogger(__name__)

T = TypeVar("T")

PAGES_IN_FLIGHT_PER_FEED = 4
# The pre-scan of a body this small takes milliseconds: a thread (lxml lets go of the GIL while
# it parses) costs less than a round trip to a worker process, measured on 1,000 feeds. Larger
# bodies get a worker's time limit and isolation.
SCAN_IN_THREAD_BYTES = 1024 * 1024
# The story index reads other replicas' articles only when they stored some; it still reads
# after this many of its own, so the ids it keeps to tell them apart stay few.
SYNC_AT_LEAST_EVERY = 500


@dataclass(frozen=True, slots=True)
class Deps:
    """The long-lived resources a poll needs, owned by `app.App`."""

    http: HttpClient
    gate: HostGate
    store: Store
    pool: WorkerPool
    settings: Settings
    topics: Sequence[Topic]
    matcher: Matcher
    chats: Mapping[str, str]
    # The story index, read from the store when first asked for (by a poll with new items)
    stories: Callable[[], StoryIndex]
    metrics: Metrics = field(default_factory=Metrics)
    # Load other replicas' articles into the story index (under the store's story lock)
    sync_stories: Callable[[], None] = field(default=lambda: None)
    # ids of the entries with an article this process wrote (the story index counts them)
    recorded: set[int] = field(default_factory=set)
    # feed hosts that cannot be reached: one line when one goes, one when it is back
    hosts: Outages = field(default_factory=lambda: Outages("feed host", "its feeds back off"))
    # 304s recorded in batches (the app's); without it each is recorded at once
    unchanged: UnchangedPolls | None = None


@dataclass(frozen=True, slots=True)
class PollResult:
    """What one poll of one feed did."""

    feed: str
    ok: bool
    new: int = 0
    skipped_old: int = 0
    alerts: int = 0
    error: str | None = None
    # new items an internal error kept from being matched: left unseen, read again next poll
    unmatched: int = 0


# A feed that is gone (410) is asked again once a day, in case it comes back.
GONE_RECHECK = timedelta(days=1)
# Floors from the server (TTL, max-age) never push the next poll further than this.
MAX_FLOOR = timedelta(hours=6)
MAX_RETRY_AFTER = timedelta(days=1)


def _regular_wait(interval: int) -> timedelta:
    """Earliest next poll after a success: the interval, less the scheduler's jitter.

    The scheduler fires each feed every interval plus up to its jitter; a poll is due when it
    fires, so this must come a little before. It also stops other replicas, whose schedules
    fire at other moments, from polling the feed again within the interval.
    """
    return timedelta(seconds=interval - jitter(interval) - 2)


def backoff(interval: float, errors: int, cap: float) -> timedelta:
    """Wait after the `errors`-th failure in a row: the interval, doubled per failure, capped."""
    return timedelta(seconds=min(cap, interval * 2 ** max(0, errors - 1)))


async def poll_feed(
    feed: FeedConfig, deps: Deps, now: datetime, states: Mapping[str, FeedState] | None = None
) -> PollResult:
    """Poll one feed; failures are logged, recorded against the feed and returned.

    Raises only `StoreUnavailable`: with the database away nothing can be recorded, so the
    poll is left for later rather than counted against the feed. `states` are every feed's
    stored state, when a caller polling many has read them at once.
    """
    state = states.get(feed.name) if states is not None else deps.store.feeds.state(feed.name)
    result = await _poll_safely(feed, state, deps, now)
    deps.metrics.polled(feed.name, result.ok, result.new)
    return result


async def _poll_safely(
    feed: FeedConfig, state: FeedState | None, deps: Deps, now: datetime
) -> PollResult:
    if state is not None and state.url != feed.url:
        deps.store.feeds.forget_location(feed.name, feed.url)  # the operator changed the URL
        state = deps.store.feeds.state(feed.name)
    host = urlsplit(feed.url).netloc
    try:
        result = await _poll(feed, state, deps, now)
        deps.hosts.ok(host)
        return result
    except GoneError as exc:
        error = f"{exc}: the feed was removed; asking again daily (fix or drop it in feeds.yaml)"
        logger.error("feed %s failed: %s", feed.name, error)
        deps.store.feeds.failed(
            feed.name, feed.url, error, now, next_poll_at=now + GONE_RECHECK, gone=True
        )
        return PollResult(feed.name, ok=False, error=error)
    except (FetchError, ParseError) as exc:
        error = str(exc)
        wait = _retry_delay(feed, state, deps, getattr(exc, "retry_after", None))
        level = logging.WARNING
        if isinstance(exc, FetchError) and exc.unreachable:  # the host, not this feed
            outage = deps.hosts.get(host)
            level = logging.INFO if outage.down else logging.WARNING
            outage.failed(error, deferred="poll")
        logger.log(level, "feed %s failed: %s (next try in %s)", feed.name, error, wait)
    except StoreUnavailable:
        raise  # the database is away, not the feed: nothing recorded, the poll comes again
    except Exception as exc:  # the one broad catch: one feed's bug must not stop the others
        error = f"internal error ({type(exc).__name__})"
        wait = _retry_delay(feed, state, deps, None)
        logger.exception("feed %s failed with an internal error", feed.name)
    deps.store.feeds.failed(feed.name, feed.url, error, now, next_poll_at=now + wait)
    return PollResult(feed.name, ok=False, error=error)


def _retry_delay(
    feed: FeedConfig, state: FeedState | None, deps: Deps, retry_after: float | None
) -> timedelta:
    errors = (state.consecutive_errors if state is not None else 0) + 1
    wait = backoff(feed.interval, errors, deps.settings.backoff_cap)
    if retry_after is not None:
        wait = max(wait, min(timedelta(seconds=retry_after), MAX_RETRY_AFTER))
    return wait


async def _poll(feed: FeedConfig, state: FeedState | None, deps: Deps, now: datetime) -> PollResult:
    settings = deps.settings
    fetched = await fetch(
        deps.http,
        (state.poll_url if state is not None else None) or feed.url,
        max_bytes=settings.max_feed_bytes,
        validators=_validators(state),
        gate=deps.gate,
        deadline=settings.fetch_deadline,
    )
    if isinstance(fetched, Fetched) and fetched.moved_to is not None:
        logger.warning(
            "feed %s moved permanently to %s; polling there from now on (update feeds.yaml)",
            feed.name,
            fetched.moved_to,
        )
    digest = fetched.digest if isinstance(fetched, Fetched) else None
    if isinstance(fetched, NotModified) or (state is not None and state.body_hash == digest):
        _unchanged(feed, fetched, deps, now)
        return PollResult(feed.name, ok=True)
    parsed, known_old, checked = await _read(feed, fetched, state, deps, now)
    result, old_items, new_items = await _process(feed, parsed.entries, state, deps, now, checked)
    result = replace(result, skipped_old=result.skipped_old + len(known_old))
    floor = max(parsed.ttl or 0, fetched.max_age or 0)
    wait = _regular_wait(feed.interval)
    if floor > feed.interval:  # the server asks us to come back later than we would
        wait = min(timedelta(seconds=floor), max(MAX_FLOOR, timedelta(seconds=feed.interval)))
    validators = (fetched.validators.etag, fetched.validators.last_modified)
    if result.unmatched:
        # Items left unseen are only read again from a body that is read again: no validators
        # to earn a 304, and a hash no body has.
        validators, digest = (None, None), ""
    polled = Polled(feed.url, validators, now, now + wait, fetched.moved_to, digest)
    stories = deps.stories() if new_items else None
    # One transaction; the database decides stories when replicas race (the story lock).
    with deps.store.recording(feed.name, polled) as recording:
        if recording.others_wrote or len(deps.recorded) >= SYNC_AT_LEAST_EVERY:
            deps.sync_stories()
        storied = [placed_in_story(item, stories, now) for item in new_items if stories is not None]
        recording.entries.record(
            feed.name,
            [*known_old, *old_items, *storied],
            now,
            inserted=deps.recorded,
            written=recording.written,
        )
    if result.skipped_old:
        logger.info(
            "feed %s: %d older items skipped (published before the %g h backlog window)",
            feed.name,
            result.skipped_old,
            settings.backlog_hours,
        )
    logger.info("feed %s: %d new items, %d alerts queued", feed.name, result.new, result.alerts)
    return result


def _unchanged(feed: FeedConfig, fetched: Fetched | NotModified, deps: Deps, now: datetime) -> None:
    """Record a poll that brought nothing new: a 304, or the very body read last time."""
    next_poll = now + _regular_wait(feed.interval)
    if isinstance(fetched, NotModified):
        poll = Unchanged(feed.name, feed.url, now, next_poll)
        if deps.unchanged is not None:
            deps.unchanged.add(poll)
        else:
            deps.store.feeds.unchanged([poll])
        return
    logger.info("feed %s: the same body as last time; not parsed", feed.name)
    deps.store.feeds.polled(
        feed.name,
        feed.url,
        (fetched.validators.etag, fetched.validators.last_modified),
        now,
        next_poll_at=next_poll,
        poll_url=fetched.moved_to,
    )


async def _read(
    feed: FeedConfig, fetched: Fetched, state: FeedState | None, deps: Deps, now: datetime
) -> tuple[ParsedFeed, list[NewEntry], frozenset[str]]:
    """Parse only what is new; return it, the backlog items the pre-scan alone recorded, and
    the keys the pre-scan found unseen (not asked again when the parsed items are recorded).

    The pre-scan reads every item's identity; items already seen are dropped, unseen ones
    outside the backlog window are recorded from the scan, and feedparser reads the rest
    (the whole feed when the pre-scan cannot read it, or when every item is new).
    """
    from monitor.parse import ParsedFeed, parse_feed, parse_items

    scan = await _prescan(feed, fetched, deps)
    if scan is None:
        parsed = await _in_pool(deps, parse_feed, feed.name, fetched.body, fetched.headers)
        return parsed, [], frozenset()
    # An item with neither GUID nor link is known by its title, which only feedparser reads
    # exactly: such items always go to feedparser.
    wanted = [index for index, item in enumerate(scan.items) if not (item.guid or item.link)]
    known = [
        (index, Entry(feed.name, item.guid, item.link, item.title, "", item.published))
        for index, item in enumerate(scan.items)
        if item.guid or item.link
    ]
    candidates = [(entry, entry_keys(entry)) for _, entry in known]
    first_poll = state is None or state.last_success_at is None
    cutoff = now - timedelta(hours=deps.settings.backlog_hours)
    old = []
    checked: set[str] = set()
    for fresh in deps.store.entries.unseen(candidates):
        entry, keys = candidates[fresh]
        if _is_old(entry, cutoff, first_poll):
            old.append(NewEntry(entry, keys, None, ()))
        else:
            wanted.append(known[fresh][0])
            checked.update(keys)
    if not wanted:
        return ParsedFeed([], scan.ttl), old, frozenset(checked)
    if len(wanted) == len(scan.items):
        parsed = await _in_pool(deps, parse_feed, feed.name, fetched.body, fetched.headers)
        return parsed, old, frozenset(checked)
    return await _in_pool(deps, parse_items, feed.name, scan, wanted), old, frozenset(checked)


async def _prescan(feed: FeedConfig, fetched: Fetched, deps: Deps) -> Scan | None:
    """Pre-scan the body: in a thread, or in a worker when it is large; None leaves the feed
    to feedparser (a scan that fails is logged: a bug in it must cost speed, not the feed)."""
    from monitor.parse import scan_feed

    try:
        if len(fetched.body) <= SCAN_IN_THREAD_BYTES:
            return await asyncio.to_thread(scan_feed, fetched.body, fetched.headers)
        return await _in_pool(deps, scan_feed, fetched.body, fetched.headers)
    except ParseError:
        raise
    except Exception:
        logger.exception("feed %s: the pre-scan failed; parsing the whole feed", feed.name)
        return None


async def _in_pool(deps: Deps, fn: Callable[..., T], *args: Any) -> T:
    """Run a parsing step in the worker pool; one that takes too long is a `ParseError`."""
    limit = deps.settings.extract_timeout
    try:
        return await deps.pool.run(fn, *args, time_limit=limit)
    except TimeoutError:
        raise ParseError(f"parsing took over {limit:g} s; abandoned") from None


async def _process(
    feed: FeedConfig,
    entries: list[Entry],
    state: FeedState | None,
    deps: Deps,
    now: datetime,
    checked: frozenset[str] = frozenset(),
) -> tuple[PollResult, list[NewEntry], list[NewEntry]]:
    """Decide which entries are new, fetch and match those, and build what to record.

    Keys in `checked` were found unseen moments ago and are not asked again (should another
    replica record one meanwhile, recording finds it taken). Returns the result, the older
    entries (recorded without alerting) and the new ones (to be placed in stories and
    recorded).
    """
    candidates = [(entry, entry_keys(entry)) for entry in entries]
    fresh = [candidates[i] for i in deps.store.entries.unseen(candidates, checked)]
    first_poll = state is None or state.last_success_at is None
    cutoff = now - timedelta(hours=deps.settings.backlog_hours)
    old = [(e, k) for e, k in fresh if _is_old(e, cutoff, first_poll)]
    new = [(e, k) for e, k in fresh if not _is_old(e, cutoff, first_poll)]
    gate = asyncio.Semaphore(PAGES_IN_FLIGHT_PER_FEED)
    articles = await asyncio.gather(
        *(read_article(entry, deps, gate, feed.url) for entry, _ in new)
    )
    # Older items keep their summary, so `monitor backtest` has something to match them on.
    older = [
        NewEntry(e, k, Article(e, e.summary, from_page=False), (), backlog=True) for e, k in old
    ]
    items = []
    for (entry, keys), (article, seconds) in zip(new, articles, strict=True):
        deps.metrics.article(article.from_page, seconds)
        alerts = _alerts(feed, article, deps)
        if alerts is not None:
            items.append(NewEntry(entry, keys, article, alerts))
    queued = sum(len(item.alerts) for item in items)
    deps.metrics.queued_alerts(per_chat(items))
    unmatched = len(new) - len(items)
    result = PollResult(feed.name, True, len(items), len(old), queued, unmatched=unmatched)
    return result, older, items


def _alerts(feed: FeedConfig, article: Article, deps: Deps) -> tuple[Alert, ...] | None:
    """Match one article and build its alerts; None when an internal error stopped that.

    One article's bug must not fail its feed's poll: the feed's other items are still matched
    and recorded, and this one stays unseen, so the next poll (perhaps under a fixed release or
    watchlist) reads it again rather than losing it.
    """
    try:
        matches = deps.matcher.match(article)
        for found in matches:
            deps.metrics.matched(found.topic)
        return alerts_for(feed, article, matches, deps.topics, deps.chats)
    except Exception:
        logger.exception(
            "feed %s: item %r could not be matched (internal error); it stays unseen and is "
            "read again on the next poll",
            feed.name,
            article.entry.link or article.entry.title,
        )
        return None


def _validators(state: FeedState | None) -> Validators | None:
    if state is None or not (state.etag or state.last_modified):
        return None
    return Validators(state.etag, state.last_modified)


def _is_old(entry: Entry, cutoff: datetime, first_poll: bool) -> bool:
    """On a feed's first poll undated items count as old; later, only dated old ones do."""
    if entry.published is None:
        return first_poll
    return entry.published < cutoff
