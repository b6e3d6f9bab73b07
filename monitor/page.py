"""Read an entry's article: fetch its page (politely, guarded) and extract the main text in a
worker, falling back to the feed's title and summary when the page gives nothing."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol
from urllib.parse import urljoin

from monitor.config import Settings
from monitor.errors import FetchError
from monitor.fetch import PAGE_ACCEPT, Fetched, HostGate, HttpClient, fetch
from monitor.models import Article, Entry
from monitor.workers import WorkerPool

logger = logging.getLogger(__name__)


class PageDeps(Protocol):
    """What reading a page needs of the pipeline's resources (`pipeline.Deps`)."""

    @property
    def http(self) -> HttpClient: ...
    @property
    def gate(self) -> HostGate: ...
    @property
    def pool(self) -> WorkerPool: ...
    @property
    def settings(self) -> Settings: ...


async def read_article(
    entry: Entry, deps: PageDeps, gate: asyncio.Semaphore, base: str
) -> tuple[Article, float | None]:
    """Fetch and extract the entry's page; fall back to the feed's title and summary.

    Also returns the seconds extraction took, when it finished.
    """
    # Imported at the first page, not at start-up: trafilatura is slow to load.
    from monitor.extract import extract_text, wall

    fallback = Article(entry, entry.summary, from_page=False), None
    link = absolute(base, entry.link)
    if not link:
        return fallback
    async with gate:
        try:
            page = await fetch(
                deps.http,
                link,
                max_bytes=deps.settings.max_page_bytes,
                accept=PAGE_ACCEPT,
                guard=not deps.settings.allow_private_networks,
                gate=deps.gate,
                deadline=deps.settings.fetch_deadline,
            )
        except FetchError as exc:
            logger.info(
                "feed %s: page %s not fetched (%s); using the feed summary",
                entry.feed,
                link,
                exc,
            )
            return fallback
        if not isinstance(page, Fetched):
            return fallback
        started = time.perf_counter()
        try:
            text = await deps.pool.run(
                extract_text, page.body, page.url, time_limit=deps.settings.extract_timeout
            )
        except TimeoutError:
            logger.warning(
                "feed %s: extracting %s took over %g s; abandoned, using the feed summary",
                entry.feed,
                link,
                deps.settings.extract_timeout,
            )
            return fallback
        except Exception:  # a page that crashes the extractor must not cost us the entry
            logger.exception(
                "feed %s: extraction of %s failed; using the feed summary", entry.feed, link
            )
            return fallback
        seconds = time.perf_counter() - started
    if text:
        return Article(entry, text, from_page=True), seconds
    blocked_by = wall(page.body)
    if blocked_by is not None:
        logger.info(
            "feed %s: %s is behind %s; using the feed summary", entry.feed, link, blocked_by
        )
    return Article(entry, entry.summary, from_page=False, blocked_by=blocked_by), seconds


def absolute(base: str, link: str | None) -> str | None:
    """An item link as the reader follows it: a relative one joined to the feed's URL.

    Identity keys keep the link as the feed wrote it (the pre-scan and feedparser must agree);
    a link that cannot be joined is kept as given, and rendering never makes it an href.
    """
    if not link:
        return link
    try:
        return urljoin(base, link)
    except ValueError:
        return link
