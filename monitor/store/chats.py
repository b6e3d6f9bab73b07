"""The `chats` table: what delivery learned about a chat (a new id, or that it is closed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from monitor.store.engine import Database, utc
from monitor.store.schema import chats


@dataclass(frozen=True, slots=True)
class ChatState:
    """What delivery learned about a chat: a new id after a migration, or that it is closed."""

    name: str
    chat_id: str
    moved_to: str | None
    disabled_at: datetime | None
    disabled_reason: str | None


class Chats:
    """Chats as Telegram left them: migrated to a supergroup, or closed to the bot."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def state(self, name: str) -> ChatState | None:
        """Return what delivery learned about chat `name`, if anything."""
        with self.db.read() as conn:
            row = conn.execute(sa.select(chats).where(chats.c.name == name)).mappings().first()
        return _chat_state(row) if row is not None else None

    def states(self) -> list[ChatState]:
        """Return every chat delivery learned something about, by name."""
        with self.db.read() as conn:
            rows = conn.execute(sa.select(chats).order_by(chats.c.name)).mappings().all()
        return [_chat_state(row) for row in rows]

    def moved(self, name: str, chat_id: str, moved_to: str) -> None:
        """Remember that Telegram migrated chat `name` (configured as `chat_id`) to `moved_to`."""
        self._put(name, chat_id, {"moved_to": moved_to})

    def disabled(self, name: str, chat_id: str, reason: str, now: datetime) -> None:
        """Stop delivering to chat `name` (the bot was blocked or removed)."""
        self._put(name, chat_id, {"disabled_at": now, "disabled_reason": reason})

    def enabled(self, name: str) -> None:
        """Deliver to chat `name` again."""
        with self.db.write() as conn:
            conn.execute(
                chats.update()
                .where(chats.c.name == name)
                .values(disabled_at=None, disabled_reason=None)
            )

    def forget(self, name: str) -> None:
        """Drop what delivery learned about chat `name` (its configured id changed)."""
        with self.db.write() as conn:
            conn.execute(chats.delete().where(chats.c.name == name))

    def _put(self, name: str, chat_id: str, values: dict[str, Any]) -> None:
        with self.db.write() as conn:
            updated = conn.execute(
                chats.update().where(chats.c.name == name).values(chat_id=chat_id, **values)
            )
            if updated.rowcount == 0:
                conn.execute(chats.insert().values(name=name, chat_id=chat_id, **values))


def _chat_state(row: Any) -> ChatState:
    """Return a `chats` row (a mapping) as a chat state."""
    return ChatState(
        name=row["name"],
        chat_id=row["chat_id"],
        moved_to=row["moved_to"],
        disabled_at=utc(row["disabled_at"]),
        disabled_reason=row["disabled_reason"],
    )
