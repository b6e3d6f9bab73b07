"""Say when each feed is polled and when the outbox is drained (APScheduler 3, asyncio)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import FeedConfig

# A poll that starts late (a busy loop, a slow neighbour) should still run, not be dropped.
MISFIRE_GRACE_SECONDS = 60
# Spread the first polls so that every feed does not hit the network in the same instant.
STARTUP_SPREAD_SECONDS = 0.5


def build_scheduler(
    feeds: Sequence[FeedConfig],
    poll: Callable[[FeedConfig], Awaitable[None]],
    deliver: Callable[[], Awaitable[None]],
    deliver_every: float,
    now: datetime,
) -> AsyncIOScheduler:
    """Return a scheduler with one interval job per enabled feed and one delivery job."""
    scheduler = AsyncIOScheduler(
        timezone=UTC,
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
        },
    )
    for index, feed in enumerate(f for f in feeds if f.enabled):
        scheduler.add_job(
            poll,
            IntervalTrigger(seconds=feed.interval, jitter=max(1, feed.interval // 20)),
            args=[feed],
            id=f"feed:{feed.name}",
            name=f"poll {feed.name}",
            next_run_time=now + timedelta(seconds=index * STARTUP_SPREAD_SECONDS),
        )
    scheduler.add_job(
        deliver,
        IntervalTrigger(seconds=deliver_every),
        id="deliver",
        name="deliver alerts",
        next_run_time=now,
    )
    return scheduler
