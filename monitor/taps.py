"""Taps on the buttons under an alert, as Telegram reports them: grade the alert or mute its
topics (`feedback.py` decides), then answer the tap and mark the button chosen."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from telegram import CallbackQuery, User
from telegram.error import TelegramError

from monitor import feedback
from monitor.metrics import Metrics
from monitor.store import Store
from monitor.telegram_sink import keyboard


async def answer_tap(
    query: CallbackQuery, chat: str | None, store: Store, metrics: Metrics | None
) -> bool:
    """Act on a tap in configured chat `chat` (None: not configured); False if not ours.

    The chat and the message come from Telegram's callback; of the data only our three
    values are accepted. A tap in a chat not in chats.yaml, or with other data, changes
    nothing and is answered politely.
    """
    message = query.message
    action = feedback.read(query.data)
    if message is None or chat is None or action is None:
        await _toast(query, "This button does nothing here.")
        return False
    outcome = await feedback.act(
        store,
        chat,
        str(message.message_id),
        query.from_user.id,
        user_name(query.from_user),
        action,
        datetime.now(UTC),
    )
    await _toast(query, outcome.toast)
    if outcome.label is not None and metrics is not None:
        metrics.graded(outcome.topics, outcome.label)
    if outcome.chosen is not None:
        with contextlib.suppress(TelegramError):  # tapped twice: "message is not modified"
            await query.edit_message_reply_markup(keyboard(outcome.chosen))
    return True


def user_name(user: User) -> str:
    """Name a Telegram user for people and the audit: "@name (id)", or their full name."""
    name = f"@{user.username}" if user.username else user.full_name
    return f"{name[:64]} ({user.id})"


async def _toast(query: CallbackQuery, text: str) -> None:
    """Answer a tap with a short notice (Telegram shows up to 200 characters)."""
    with contextlib.suppress(TelegramError):
        await query.answer(text[:200])
