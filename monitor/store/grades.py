"""The `grades` table: what analysts said of an alert with the buttons under its message."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from monitor.models import Article
from monitor.store.alerts import Alerts, MessageAlert
from monitor.store.articles import article_of
from monitor.store.engine import Database, utc
from monitor.store.outbox import load_alert
from monitor.store.schema import alerts, entries, grades


class Grades:
    """One label per alert and analyst (relevant | irrelevant); the latest one counts."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(
        self, chat: str, message_id: str, user_id: int, label: str, now: datetime
    ) -> list[MessageAlert]:
        """Record `user_id`'s label for the alerts delivered to `chat` as message `message_id`
        (a grouped message is graded as a whole); a second grade replaces the first.

        Returns the alerts graded: none when the message is not an alert this store knows.
        """
        members = Alerts(self.db).in_message(chat, message_id)
        with self.db.write() as conn:
            for member in members:
                mine = sa.and_(grades.c.alert_id == member.id, grades.c.user_id == user_id)
                conn.execute(grades.delete().where(mine))
                conn.execute(
                    grades.insert().values(
                        alert_id=member.id, user_id=user_id, chat=chat, label=label, graded_at=now
                    )
                )
        return members

    def since(
        self, since: datetime
    ) -> tuple[list[tuple[int, tuple[str, ...], datetime]], list[tuple[int, str]]]:
        """Return the alerts sent since `since` (id, topics, when) and the label of each graded
        one (the latest grade of any user)."""
        with self.db.read() as conn:
            sent = conn.execute(
                sa.select(alerts.c.id, alerts.c.payload, alerts.c.sent_at).where(
                    alerts.c.status == "sent", alerts.c.sent_at >= since
                )
            ).all()
            graded = conn.execute(
                sa.select(grades.c.alert_id, grades.c.label)
                .join(alerts, alerts.c.id == grades.c.alert_id)
                .where(alerts.c.sent_at >= since)
                .order_by(grades.c.graded_at)
            ).all()
        topics = [
            (row.id, load_alert(row.payload).topics, utc(row.sent_at) or since) for row in sent
        ]
        return topics, [(row.alert_id, row.label) for row in graded]

    def articles(self) -> list[tuple[int, Article, tuple[str, ...], str]]:
        """Return each graded article once: entry id, article, the topics it alerted for, and
        the latest label any analyst gave it."""
        with self.db.read() as conn:
            rows = (
                conn.execute(
                    sa.select(entries, alerts.c.payload, grades.c.label)
                    .join(alerts, alerts.c.entry_id == entries.c.id)
                    .join(grades, grades.c.alert_id == alerts.c.id)
                    .order_by(grades.c.graded_at)
                )
                .mappings()
                .all()
            )
        found: dict[int, tuple[int, Article, tuple[str, ...], str]] = {}
        for row in rows:
            topics = load_alert(row["payload"]).topics
            found[row["id"]] = (row["id"], article_of(row), topics, row["label"])
        return list(found.values())
