"""The buttons under an alert: relevant, not relevant, mute its topic here for a day.

What a tap does, without Telegram: read the button's callback data (only our three values are
accepted, nothing else is taken from it), find the alerts of the message it was tapped under,
store the analyst's grade or the mute, and say what happened in a short toast. The message and
the chat come from Telegram's own callback, never from the data.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.grades import Label
from monitor.store import MessageAlert, Store

audit = logging.getLogger("monitor.audit")

# callback data (at most 64 bytes) and the button's text
BUTTONS: tuple[tuple[str, str], ...] = (
    ("grade:relevant", "👍 Relevant"),
    ("grade:irrelevant", "👎 Not relevant"),
    ("mute:1d", "🔕 Mute topic here 1 d"),
)
MUTE_FOR = timedelta(days=1)
_LABELS: dict[str, Label] = {"grade:relevant": "relevant", "grade:irrelevant": "irrelevant"}
UNKNOWN = "This message is not an alert the monitor knows (or it is too old)."


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a tap did: the toast to show, the button to mark as chosen, the grade stored."""

    toast: str
    chosen: str | None = None
    label: Label | None = None
    topics: tuple[str, ...] = ()


def read(data: object) -> str | None:
    """Return the button's action when `data` is one of ours, else None."""
    return data if isinstance(data, str) and any(data == key for key, _ in BUTTONS) else None


def buttons(chosen: str | None = None) -> list[tuple[str, str]]:
    """The buttons as (text, callback data), the chosen one marked."""
    return [(f"✓ {text}" if key == chosen else text, key) for key, text in BUTTONS]


async def act(
    store: Store,
    chat: str,
    message_id: str,
    user_id: int,
    who: str,
    action: str,
    now: datetime,
) -> Outcome:
    """Carry out a tap of `who` (user `user_id`) on message `message_id` in `chat`."""
    label = _LABELS.get(action)
    if label is not None:
        graded = await asyncio.to_thread(store.grades.record, chat, message_id, user_id, label, now)
        if not graded:
            return Outcome(UNKNOWN)
        topics = _topics(graded)
        what = "relevant" if label == "relevant" else "not relevant"
        count = f"{len(graded)} reports" if len(graded) > 1 else "this alert"
        return Outcome(f"Thank you: {count} marked {what}.", action, label, topics)
    topics = _topics(await asyncio.to_thread(store.alerts.in_message, chat, message_id))
    if not topics:
        return Outcome(UNKNOWN)
    until = now + MUTE_FOR
    for topic in topics:
        await asyncio.to_thread(store.mutes.set, chat, topic, until, who)
    audit.info("chat %s, %s: mute button: %s muted for a day", chat, who, ", ".join(topics))
    return Outcome(f"Muted here for a day: {', '.join(topics)}. /unmute lifts it.", action)


def _topics(members: Sequence[MessageAlert]) -> tuple[str, ...]:
    """The topics of a message's alerts, each once, in order."""
    return tuple(dict.fromkeys(t for member in members for t in member.alert.topics))
