"""Send alerts through the Telegram Bot API (python-telegram-bot): paced per chat and overall,
RetryAfter waited out, PTB's errors mapped to ours. Imported only when a bot token is set."""

from __future__ import annotations

import asyncio
import html
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from telegram import Bot, LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from monitor.errors import ChatBlocked, ChatMoved, DeliveryError
from monitor.models import Alert
from monitor.render import MAX_MESSAGE_UNITS, DigestPart, render_html, utf16_len

logger = logging.getLogger(__name__)

MAX_RETRY_AFTER_SECONDS = 120
# Telegram's global limit is about 30 messages per second across all chats.
GLOBAL_INTERVAL = 1 / 30


class Pacer:
    """Keep under Telegram's limits: per chat (private ~1/s, groups ~20/min) and ~30/s overall."""

    def __init__(self, private_interval: float, group_interval: float) -> None:
        self.private_interval = private_interval
        self.group_interval = group_interval
        self._next_in_chat: dict[str, float] = {}
        self._next_global = 0.0

    def interval(self, chat_id: str) -> float:
        """Return the minimum gap between two messages to `chat_id`."""
        private = chat_id.isdigit()  # users have positive ids; groups negative, channels @name
        return self.private_interval if private else self.group_interval

    async def wait(self, chat_id: str) -> None:
        """Sleep until a message to `chat_id` keeps within both limits, and book its slot."""
        now = time.monotonic()
        start = max(now, self._next_in_chat.get(chat_id, 0.0), self._next_global)
        self._next_in_chat[chat_id] = start + self.interval(chat_id)
        self._next_global = start + GLOBAL_INTERVAL
        if start > now:
            await asyncio.sleep(start - now)


class TelegramSink:
    """Send and edit alerts with a python-telegram-bot `Bot` pointed at `api_url`."""

    def __init__(self, token: str, api_url: str, pacer: Pacer) -> None:
        # Opt in to PTB's future `retry_after` type (timedelta) instead of a warning per 429.
        os.environ.setdefault("PTB_TIMEDELTA", "true")
        self.bot = Bot(token, base_url=f"{api_url}/bot", base_file_url=f"{api_url}/file/bot")
        self.pacer = pacer

    async def start(self) -> None:
        """Check the token (getMe); raise `DeliveryError` without repeating the token."""
        try:
            await self.bot.initialize()
        except InvalidToken:
            raise DeliveryError(
                "Telegram rejected the bot token (check TELEGRAM_BOT_TOKEN)", permanent=True
            ) from None
        except TelegramError as exc:
            raise DeliveryError(
                f"cannot reach the Telegram Bot API: {type(exc).__name__}"
            ) from None

    async def stop(self) -> None:
        """Close the bot's HTTP connections."""
        await self.bot.shutdown()

    async def send(self, alert: Alert, chat_id: str, reply_to: str | None = None) -> str | None:
        """Send one alert, as a reply to `reply_to` when given; return its message id."""
        reply = (
            ReplyParameters(message_id=int(reply_to), allow_sending_without_reply=True)
            if reply_to and reply_to.isdigit()
            else None
        )

        def request() -> Awaitable[Message | bool]:
            return self.bot.send_message(
                chat_id=chat_id,
                text=render_html(alert),
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                reply_parameters=reply,
            )

        message = await self._call(alert.chat, chat_id, request)
        return str(message.message_id) if isinstance(message, Message) else None

    async def edit(
        self, message_id: str, alert: Alert, chat_id: str, sources: Sequence[Alert]
    ) -> None:
        """Rewrite the story message to list its sources; an unchanged message is fine."""

        def request() -> Awaitable[Message | bool]:
            return self.bot.edit_message_text(
                chat_id=chat_id,
                message_id=int(message_id),
                text=render_html(alert, sources),
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )

        try:
            await self._call(alert.chat, chat_id, request)
        except DeliveryError as exc:
            if "message is not modified" not in str(exc).lower():
                raise

    async def notice(self, text: str, chat_id: str) -> None:
        """Send a plain-text notice (escaped, cut to Telegram's limit) to an operator chat."""
        clipped = text if utf16_len(text) <= MAX_MESSAGE_UNITS else text[:3000] + "…"

        def request() -> Awaitable[Message | bool]:
            return self.bot.send_message(
                chat_id=chat_id, text=html.escape(clipped), parse_mode=ParseMode.HTML
            )

        await self._call("operators", chat_id, request)

    async def send_digest(self, part: DigestPart, chat_id: str) -> str | None:
        """Send one message of a digest; return its message id."""
        chat = part.alerts[0].chat if part.alerts else chat_id

        def request() -> Awaitable[Message | bool]:
            return self.bot.send_message(
                chat_id=chat_id,
                text=part.html,
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )

        message = await self._call(chat, chat_id, request)
        return str(message.message_id) if isinstance(message, Message) else None

    async def _call(
        self, chat: str, chat_id: str, request: Callable[[], Awaitable[Message | bool]]
    ) -> Message | bool | None:
        """Make one paced request, waiting out `RetryAfter` a few times; map PTB's errors."""
        for _ in range(3):
            await self.pacer.wait(chat_id)
            try:
                return await request()
            except RetryAfter as exc:
                await _wait_out(exc.retry_after)
            except Forbidden as exc:
                raise ChatBlocked(f"bot cannot post to chat {chat!r}: {exc.message}") from None
            except ChatMigrated as exc:
                raise ChatMoved(
                    f"chat {chat!r} became supergroup {exc.new_chat_id}", str(exc.new_chat_id)
                ) from None
            except InvalidToken:
                raise DeliveryError(
                    "Telegram rejected the bot token (check TELEGRAM_BOT_TOKEN)"
                ) from None
            except BadRequest as exc:
                raise DeliveryError(
                    f"Telegram refused the message: {exc.message}", permanent=True
                ) from None
            except TimedOut:
                # Telegram may have accepted the message before the timeout; a duplicate is
                # worse for analysts than a possible gap, so we count it as sent.
                logger.warning("request to chat %s timed out; counting it as delivered", chat)
                return None
            except NetworkError as exc:
                raise DeliveryError(f"network error talking to Telegram: {exc.message}") from None
            except TelegramError as exc:  # e.g. a reply that is not the Bot API's JSON
                raise DeliveryError(f"unexpected answer from Telegram: {exc.message}") from None
        raise DeliveryError("Telegram kept asking to retry later")


def _seconds(value: int | float | timedelta) -> float:
    if isinstance(value, timedelta):
        value = value.total_seconds()
    return min(float(value), MAX_RETRY_AFTER_SECONDS)


# A RetryAfter longer than this is not waited out in the round: the alerts are tried again then.
RETRY_AFTER_WAIT = 60.0


async def _wait_out(retry_after: int | float | timedelta) -> None:
    """Wait as Telegram asked, or give up on the round when it asks for long."""
    asked = retry_after.total_seconds() if isinstance(retry_after, timedelta) else retry_after
    if asked > RETRY_AFTER_WAIT:  # not worth holding the round (and `once`) for
        raise DeliveryError(f"Telegram asks to wait {asked:.0f} s (RetryAfter)", retry_after=asked)
    await asyncio.sleep(_seconds(retry_after) + 0.1)
