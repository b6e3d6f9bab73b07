"""Describe the service's health for people: every feed's condition, and the outbox."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from monitor.config import FeedConfig
from monitor.grades import precision_lines, tally
from monitor.render import BERLIN
from monitor.store import ChatState, FeedState, PendingChat, Store
from monitor.store.migrations import LATEST


def heartbeat_health(store: Store, max_age: float, now: datetime) -> tuple[bool, str, float | None]:
    """Return (healthy, reason, heartbeat age in seconds) from the heartbeat in the database.

    Reading it also shows the database answers; an error reading it propagates.
    """
    beat = store.heartbeats.last()
    if beat is None:
        return False, "the service has never run here (no heartbeat)", None
    age = (now - beat).total_seconds()
    if age > max_age:
        return False, f"last heartbeat {age:.0f} s ago (limit {max_age:g} s)", age
    return True, f"last heartbeat {age:.0f} s ago", age


def status_report(
    feeds: Iterable[FeedConfig],
    states: Iterable[FeedState],
    alert_counts: Mapping[str, int],
    now: datetime | None = None,
    chats: Iterable[ChatState] = (),
    dead: Sequence[tuple[int, str, str, str | None]] = (),
    heartbeat: datetime | None = None,
    leaders: Mapping[str, str] | None = None,
    schema: tuple[int, str] | None = None,
    ambiguous: int = 0,
    graded: Sequence[str] = (),
) -> list[str]:
    """Return the lines of a status table for the configured feeds, then chats and the outbox."""
    now = now or datetime.now(UTC)
    known = {state.name: state for state in states}
    header = f"{'feed':<24} {'state':<8} {'last success':<16} {'errors':>6}  {'next poll':<10}"
    lines = [f"{header} last error"]
    for feed in feeds:
        lines += _feed_lines(feed, known.get(feed.name), now)
    lines += graded  # per topic: what analysts graded
    lines.append(
        f"alerts: {alert_counts.get('pending', 0)} pending, {alert_counts.get('sent', 0)} sent, "
        f"{alert_counts.get('dead', 0)} dead, {alert_counts.get('muted', 0)} muted"
    )
    if ambiguous:
        lines.append(
            f"alerts retried after a send Telegram never answered: {ambiguous} "
            "(each may show twice in its chat)"
        )
    for chat in chats:
        if chat.disabled_at is not None:
            since = _when(chat.disabled_at)
            lines.append(f"chat {chat.name}: disabled since {since}: {chat.disabled_reason}")
        if chat.moved_to is not None:
            moved = f"moved from {chat.chat_id} to {chat.moved_to}"
            lines.append(f"chat {chat.name}: {moved} (update chats.yaml)")
    for alert_id, chat_name, title, error in dead:
        lines.append(f"dead alert {alert_id} to {chat_name}: {title[:60]!r}: {error or '-'}")
    for role, owner in sorted((leaders or {}).items()):
        lines.append(f"{role} leader: {owner}")
    if heartbeat is None:
        lines.append("service: no heartbeat yet (monitor run has not run with this database)")
    else:
        age = (now - heartbeat).total_seconds()
        lines.append(f"service: last heartbeat {_when(heartbeat)} ({age:.0f} s ago)")
    if schema is not None:
        lines.append(database_line(*schema))
    return lines


def database_line(version: int, integrity: str) -> str:
    """The database's schema version and, on SQLite, its quick integrity check."""
    state = "current" if version == LATEST else f"this release's is {LATEST}"
    line = f"database: schema version {version} ({state})"
    return f"{line}; integrity check: {integrity}" if integrity else line


def _feed_lines(feed: FeedConfig, state: FeedState | None, now: datetime) -> list[str]:
    """One feed's row of the status table, and notes under it."""
    if state is None or not polled(state):
        line = f"{feed.name[:24]:<24} {'new' if feed.enabled else 'disabled':<8} never polled"
        if state is not None and state.lease_until and state.lease_until > now:
            line += f"; first poll under way by {state.lease_owner}"
        return [line]
    lines = [
        f"{feed.name[:24]:<24} {condition(state, feed.enabled):<8} "
        f"{_when(state.last_success_at):<16} {state.consecutive_errors:>6}  "
        f"{_due(state.next_poll_at, now):<10} {state.last_error or '-'}"
    ]
    if state.poll_url:
        lines.append(f"{'':<24} moved permanently: polling {state.poll_url}")
    if state.lease_owner and state.lease_until and state.lease_until > now:
        lines.append(f"{'':<24} being polled by {state.lease_owner}")
    return lines


def polled(state: FeedState) -> bool:
    """Say whether a feed's poll ever finished (a claim alone creates its row)."""
    return state.last_success_at is not None or state.last_error_at is not None


def condition(state: FeedState, enabled: bool = True) -> str:
    """Name a feed's condition: ok, failing, gone or disabled."""
    if not enabled:
        return "disabled"
    if state.gone_at is not None:
        return "gone"
    return "failing" if state.consecutive_errors else "ok"


def _when(moment: datetime | None) -> str:
    return moment.astimezone(BERLIN).strftime("%d.%m. %H:%M:%S") if moment else "never"


def _due(moment: datetime | None, now: datetime) -> str:
    if moment is None or moment <= now:
        return "due now"
    seconds = int((moment - now).total_seconds())
    if seconds >= 3600:
        return f"in {seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"in {seconds // 60}m{seconds % 60:02d}s"


def pending_text(chat: PendingChat) -> str:
    """Say why a chat's alerts are still pending: held for later, or failing and until when."""
    parts = []
    failing = chat.count - chat.held
    if chat.held:
        parts.append(f"{chat.held} held for a digest or quiet hours")
    if failing:
        when = f"next try {_when(chat.next_try)}" if chat.next_try else "next round"
        reason = chat.last_error or "not yet delivered"
        parts.append(f"{failing} not delivered ({reason}; {when})")
    return "; ".join(parts)


def graded_lines(store: Store, now: datetime) -> list[str]:
    """Per topic, what analysts graded with the alert buttons over 7 and 30 days."""
    sent, grades = store.grades.since(now - timedelta(days=30))  # one read for both periods
    lines = []
    for days in (7, 30):
        since = now - timedelta(days=days)
        recent = [(alert_id, topics) for alert_id, topics, at in sent if at >= since]
        lines += precision_lines(f"{days} days", tally(recent, grades))
    return lines


def chat_status(store: Store, feeds: Sequence[FeedConfig], chat: str, now: datetime) -> str:
    """Answer /status in `chat` (Telegram HTML): feeds, alerts, precision, mutes in force."""
    states = {state.name: state for state in store.feeds.states()}
    enabled = [feed for feed in feeds if feed.enabled]
    failing = [
        feed.name
        for feed in enabled
        if (state := states.get(feed.name)) is not None and state.consecutive_errors > 0
    ]
    never = [
        feed.name
        for feed in enabled
        if (state := states.get(feed.name)) is None or not polled(state)
    ]
    counts = store.outbox.counts()
    last = store.alerts.last_sent_at()
    lines = [
        f"<b>Feeds</b>: {len(enabled) - len(failing) - len(never)} healthy, "
        f"{len(failing)} failing, {len(never)} not polled yet",
    ]
    if failing:
        lines.append("Failing: " + html.escape(", ".join(failing[:10])))
    lines.append(
        f"<b>Alerts</b>: {counts.get('pending', 0)} waiting, {counts.get('dead', 0)} dead, "
        f"{counts.get('sent', 0)} sent"
    )
    lines.append(
        "Last alert: "
        + (f"{last.astimezone(BERLIN):%d.%m.%Y %H:%M}" if last is not None else "none yet")
    )
    lines += [html.escape(line) for line in graded_lines(store, now)]
    for topic, until, set_by in store.mutes.in_chat(chat, now):
        by = f" by {html.escape(set_by)}" if set_by else ""
        lines.append(
            f"Muted here: {html.escape(topic)} until {until.astimezone(BERLIN):%d.%m. %H:%M}{by}"
        )
    return "\n".join(lines)
