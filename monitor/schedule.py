"""Say when each feed is polled and when the outbox is drained (APScheduler 3, asyncio)."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from monitor.config import FeedConfig

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

# A poll that starts late (a busy loop, a slow neighbour) should still run, not be dropped.
MISFIRE_GRACE_SECONDS = 60
# Spread the first polls so that every feed does not hit the network in the same instant.
STARTUP_SPREAD_SECONDS = 0.5
STARTUP_WINDOW_SECONDS = 60.0
FEED_JOB = "feed:"


def jitter(interval: int) -> int:
    """Seconds (at most) by which a feed's polls are spread: 5% of its interval."""
    return max(1, interval // 20)


def build_scheduler(
    feeds: Sequence[FeedConfig],
    poll: Callable[[FeedConfig], Awaitable[None]],
    periodic: Sequence[tuple[str, Callable[[], Awaitable[None]], float]],
    now: datetime,
) -> AsyncIOScheduler:
    """Return a scheduler with one interval job per enabled feed and the `periodic` jobs.

    `periodic` holds (name, job, seconds between runs); each first runs at `now`.
    """
    # Imported here: only the service schedules; `once` and the tools never load APScheduler.
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    scheduler = AsyncIOScheduler(
        timezone=UTC,
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
        },
    )
    sync_feed_jobs(scheduler, feeds, poll, now)
    for name, job, seconds in periodic:
        scheduler.add_job(
            job, IntervalTrigger(seconds=seconds), id=name, name=name, next_run_time=now
        )
    return scheduler


def sync_feed_jobs(
    scheduler: AsyncIOScheduler,
    feeds: Sequence[FeedConfig],
    poll: Callable[[FeedConfig], Awaitable[None]],
    now: datetime,
) -> tuple[list[str], list[str], list[str]]:
    """Make the feed jobs match `feeds`: add new ones, drop removed or disabled ones,
    and reschedule those whose settings changed. Returns (added, removed, changed) names.
    """
    from apscheduler.triggers.interval import IntervalTrigger

    wanted = {f"{FEED_JOB}{feed.name}": feed for feed in feeds if feed.enabled}
    removed = []
    for job in scheduler.get_jobs():
        if job.id.startswith(FEED_JOB) and job.id not in wanted:
            job.remove()
            removed.append(job.id.removeprefix(FEED_JOB))
    added: list[str] = []
    changed: list[str] = []
    fresh = [(job_id, feed) for job_id, feed in wanted.items() if _differs(scheduler, job_id, feed)]
    # First polls in random order (replicas sharing feeds then rarely reach for the same one at
    # once), spread out: 0.5 s apart, or closer so that all start within STARTUP_WINDOW.
    random.shuffle(fresh)
    gap = min(STARTUP_SPREAD_SECONDS, STARTUP_WINDOW_SECONDS / max(len(fresh), 1))
    for spread, (job_id, feed) in enumerate(fresh):
        job = scheduler.get_job(job_id)
        if job is not None:
            job.remove()
            changed.append(feed.name)
        else:
            added.append(feed.name)
        scheduler.add_job(
            poll,
            IntervalTrigger(seconds=feed.interval, jitter=jitter(feed.interval)),
            args=[feed],
            id=job_id,
            name=f"poll {feed.name}",
            next_run_time=now + timedelta(seconds=spread * gap),
        )
    return sorted(added), removed, sorted(changed)


def _differs(scheduler: AsyncIOScheduler, job_id: str, feed: FeedConfig) -> bool:
    job = scheduler.get_job(job_id)
    return job is None or job.args != (feed,)
