"""The `mutes` table: topics an analyst silenced in a chat, until when, and who asked."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from monitor.store.engine import Database, utc
from monitor.store.schema import mutes


class Mutes:
    """Topics held back in a chat for a while (/mute, the mute button)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def set(self, chat: str, topic: str, until: datetime, set_by: str | None = None) -> None:
        """Hold back `topic`'s alerts in `chat` until `until`; `set_by` names who asked."""
        with self.db.write() as conn:
            conn.execute(mutes.delete().where(mutes.c.chat == chat, mutes.c.topic == topic))
            conn.execute(mutes.insert().values(chat=chat, topic=topic, until=until, set_by=set_by))

    def lift(self, chat: str, topic: str | None = None) -> int:
        """Lift the mute of `topic` (or every mute) in `chat`; return how many were lifted."""
        condition = mutes.c.chat == chat
        if topic is not None:
            condition = sa.and_(condition, mutes.c.topic == topic)
        with self.db.write() as conn:
            return conn.execute(mutes.delete().where(condition)).rowcount or 0

    def in_chat(self, chat: str, now: datetime) -> list[tuple[str, datetime, str | None]]:
        """Return the mutes in force in `chat` at `now`: topic, until, who set it."""
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(mutes.c.topic, mutes.c.until, mutes.c.set_by)
                .where(mutes.c.chat == chat, mutes.c.until > now)
                .order_by(mutes.c.topic)
            ).all()
        return [(row.topic, utc(row.until) or now, row.set_by) for row in rows]

    def in_force(self, now: datetime) -> dict[str, dict[str, datetime]]:
        """Return the mutes in force at `now`: chat -> topic -> until."""
        with self.db.read() as conn:
            rows = conn.execute(sa.select(mutes).where(mutes.c.until > now)).all()
        found: dict[str, dict[str, datetime]] = {}
        for row in rows:
            found.setdefault(row.chat, {})[row.topic] = utc(row.until) or now
        return found
