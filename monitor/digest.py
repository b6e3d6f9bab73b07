"""Decide when an alert goes out: now, held for quiet hours, collected into a digest, or
grouped with the burst it arrived in.

Pure: given a chat's rules, the alert's topics and times, return a plan. The delivery loop
(deliver.py) carries the plan out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Europe/Berlin"


@dataclass(frozen=True, slots=True)
class Burst:
    """More than `threshold` alerts for one chat falling due within `window` are a burst."""

    threshold: int = 5
    window: timedelta = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class ChatRules:
    """How a chat wants its alerts: a digest interval, quiet hours, its time zone, when a
    burst of alerts goes out as one grouped message (None: never), and whether its alerts
    carry the grading buttons."""

    digest: timedelta | None = None
    quiet: tuple[time, time] | None = None  # local start and end; may wrap past midnight
    timezone: str = DEFAULT_TIMEZONE
    burst: Burst | None = Burst()
    feedback: bool = True


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do with one alert now: send it, put it in this round's digest, or hold it."""

    action: Literal["send", "digest", "hold"]
    until: datetime | None = None  # for "hold": when to look at it again
    quiet: bool = False  # for "digest": it was held by quiet hours


SEND = Plan("send")


def plan(
    rules: ChatRules,
    interval: timedelta | None,
    created_at: datetime,
    now: datetime,
    silent: bool = False,
) -> Plan:
    """Plan one alert created at `created_at` whose digest interval (if any) is `interval`.

    `silent` alerts (edits of a story message, which Telegram does not notify) go out even in
    quiet hours. Alerts that arrived in quiet hours go out as one digest when they end.
    """
    if silent:
        return SEND
    end = quiet_end(rules, now)
    if end is not None:
        return Plan("hold", until=end)
    if quiet_end(rules, created_at) is not None:
        return Plan("digest", quiet=True)
    if interval is None:
        return SEND
    slot = slot_end(created_at, interval, ZoneInfo(rules.timezone))
    return Plan("digest") if slot <= now else Plan("hold", until=slot)


def is_burst(rules: ChatRules, due: Sequence[datetime], now: datetime) -> bool:
    """Tell whether alerts ready to notify a chat now, falling due at `due`, are a burst.

    A burst is more than the threshold of them falling due within the window before `now`;
    a burst goes out as one grouped message (split into numbered parts when long) that
    notifies once, instead of one notification per report.
    """
    burst = rules.burst
    if burst is None:
        return False
    recent = sum(1 for moment in due if now - moment <= burst.window)
    return recent > burst.threshold


def digest_interval(
    rules: ChatRules, topics: Sequence[str], topic_digests: Mapping[str, timedelta | None]
) -> timedelta | None:
    """Return how often an alert for `topics` is digested in a chat with `rules`, or None.

    The chat's own interval wins. Otherwise the alert is digested only when every topic it
    matched asks for a digest (an immediate topic keeps it immediate), at the shortest of them.
    """
    if rules.digest is not None:
        return rules.digest
    intervals = [topic_digests.get(topic) for topic in topics]
    if not intervals or any(interval is None for interval in intervals):
        return None
    return min(interval for interval in intervals if interval is not None)


def quiet_end(rules: ChatRules, at: datetime) -> datetime | None:
    """Return when the quiet hours around `at` end, or None when `at` is not in them."""
    if rules.quiet is None:
        return None
    start, end = rules.quiet
    zone = ZoneInfo(rules.timezone)
    local = at.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else clock >= start or clock < end
    if not inside:
        return None
    ends = datetime.combine(local.date(), end, tzinfo=zone)
    if ends <= local:
        ends = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=zone)
    return ends.astimezone(UTC)


def slot_end(created_at: datetime, interval: timedelta, zone: ZoneInfo) -> datetime:
    """Return the first digest time after `created_at`: local midnight plus whole intervals."""
    local = created_at.astimezone(zone)
    midnight = datetime.combine(local.date(), time(), tzinfo=zone).astimezone(UTC)
    elapsed = created_at.astimezone(UTC) - midnight
    slots = elapsed // interval + 1
    return midnight + slots * interval
