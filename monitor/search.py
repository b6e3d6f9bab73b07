"""Search the stored articles with a query, within a budget: newest first, bounded in time,
in work per article, and in articles read; a stop flag ends it at once."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from monitor.budget import Budget
from monitor.errors import OverBudget
from monitor.match import Matcher, Topic
from monitor.models import Article
from monitor.query import Node
from monitor.store import Store

# Seconds a search may read and match articles; what it found by then is the answer.
SEARCH_SECONDS = 5.0
# Matching steps (NEAR comparisons, query nodes) one article may take; beyond, it is skipped.
ARTICLE_STEPS = 200_000
MAX_ARTICLES = 20_000


@dataclass
class Scan:
    """What a search found (newest first, with a snippet each) and how far it got.

    `stopped` says why it ended before the oldest article: "time", "stopped" (the service is
    stopping) or "articles" (MAX_ARTICLES read); None when it read all it needed.
    """

    found: list[tuple[Article, str]] = field(default_factory=list)
    read: int = 0
    costly: int = 0  # articles skipped because the query was too much work on them
    stopped: str | None = None


def find(
    store: Store,
    query: Node,
    since: datetime,
    wanted: int,
    stop: threading.Event | None = None,
    seconds: float = SEARCH_SECONDS,
) -> Scan:
    """Return the `wanted` newest articles stored since `since` that match `query`.

    Runs in a thread: reads from `store`, and returns within `seconds` (plus one batch read)
    or as soon as `stop` is set.
    """
    matcher = Matcher([Topic("search", query, ())])
    deadline = time.monotonic() + seconds
    scan = Scan()
    articles = store.articles.all(since, newest_first=True)
    try:
        for article in articles:
            if scan.read >= MAX_ARTICLES:
                scan.stopped = "articles"
                break
            budget = Budget(deadline, ARTICLE_STEPS, stop)
            try:
                budget.check()  # also between articles that give the query nothing to do
                matches = matcher.match(article, budget)
            except OverBudget as exc:
                if exc.reason != "work":
                    scan.stopped = exc.reason
                    break
                scan.costly += 1
                matches = []
            scan.read += 1
            if matches:
                scan.found.append((article, matches[0].snippet))
                if len(scan.found) >= wanted:
                    break
    finally:
        articles.close()
    return scan
