"""Alerts read back as a record: a story's earlier alerts, a message's alerts, the latest sent.

Delivery reads them to edit a story's message or rewrite a grouped one; the bot to answer
/recent and /why. The queue itself (what waits, claims, outcomes) is `outbox.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from monitor.models import Alert
from monitor.store.engine import Database, utc
from monitor.store.outbox import load_alert
from monitor.store.schema import alerts


@dataclass(frozen=True, slots=True)
class StoryAlert:
    """An earlier alert of the same story in the same chat."""

    id: int
    alert: Alert
    status: str
    message_id: str | None
    kind: str
    via: str | None = None  # message | digest


@dataclass(frozen=True, slots=True)
class MessageAlert:
    """An alert delivered in a given message (one alone, or several in a grouped message)."""

    id: int
    alert: Alert
    entry_id: int
    story: str | None
    kind: str
    part: str | None  # a grouped message: its title and first item number (JSON)


class Alerts:
    """Alerts already queued or delivered, looked up by story, by message, or by time."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def of_story(self, chat: str, story: str, before: int) -> list[StoryAlert]:
        """Return the alerts of `story` in `chat` queued before alert `before`, oldest first."""
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(
                    alerts.c.id,
                    alerts.c.payload,
                    alerts.c.status,
                    alerts.c.message_id,
                    alerts.c.kind,
                    alerts.c.via,
                )
                .where(alerts.c.chat == chat, alerts.c.story == story, alerts.c.id < before)
                .order_by(alerts.c.id)
            ).all()
        return [
            StoryAlert(
                row.id, load_alert(row.payload), row.status, row.message_id, row.kind, row.via
            )
            for row in rows
        ]

    def in_message(self, chat: str, message_id: str) -> list[MessageAlert]:
        """Return the alerts delivered to `chat` in message `message_id`, oldest first."""
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(
                    alerts.c.id,
                    alerts.c.payload,
                    alerts.c.entry_id,
                    alerts.c.story,
                    alerts.c.kind,
                    alerts.c.part,
                )
                .where(
                    alerts.c.chat == chat,
                    alerts.c.message_id == message_id,
                    alerts.c.status == "sent",
                )
                .order_by(alerts.c.id)
            ).all()
        return [
            MessageAlert(
                row.id,
                load_alert(row.payload),
                row.entry_id,
                row.story,
                row.kind or "new",
                row.part,
            )
            for row in rows
        ]

    def recent(self, chat: str, topic: str | None, limit: int, scan: int = 5000) -> list[Alert]:
        """Return the latest alerts delivered to `chat` (naming `topic`, if given), newest first,
        looking at no more than the latest `scan` alerts of the chat."""
        found: list[Alert] = []
        query = (
            sa.select(alerts.c.payload)
            .where(alerts.c.chat == chat, alerts.c.status == "sent")
            .order_by(alerts.c.id.desc())
            .limit(scan)
        )
        with self.db.read() as conn:
            for row in conn.execution_options(yield_per=200).execute(query):
                alert = load_alert(row.payload)
                if topic is None or topic in alert.topics:
                    found.append(alert)
                    if len(found) >= limit:
                        break
        return found

    def last_sent_at(self) -> datetime | None:
        """Return when the last alert was delivered, if ever."""
        with self.db.read() as conn:
            value = conn.execute(sa.select(sa.func.max(alerts.c.sent_at))).scalar()
        return utc(value)
