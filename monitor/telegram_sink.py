"""The Telegram sink: send, edit and pace alerts and bot replies with python-telegram-bot.

Imported only when a token is set, so commands that never talk to Telegram start without it.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
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
from telegram.request import HTTPXRequest

from monitor.errors import ChatBlocked, ChatMoved, DeliveryError
from monitor.feedback import buttons
from monitor.models import Alert
from monitor.pacer import Pacer
from monitor.render import MAX_MESSAGE_UNITS, DigestPart, render_html, utf16_len

logger = logging.getLogger(__name__)

MAX_RETRY_AFTER_SECONDS = 120
# A bot reply that cannot reach Telegram is tried this often in all (1 s, then 2 s apart).
REPLY_ATTEMPTS = 3


class TelegramSink:
    """Send and edit alerts with a python-telegram-bot `Bot` pointed at `api_url`."""

    def __init__(
        self,
        token: str,
        api_url: str,
        pacer: Pacer,
        feedback: Callable[[str], bool] | None = None,
    ) -> None:
        """`feedback` tells, by chat name, whether alerts there carry the grading buttons."""
        # Opt in to PTB's future `retry_after` type (timedelta) instead of a warning per 429.
        os.environ.setdefault("PTB_TIMEDELTA", "true")
        self.bot = Bot(
            token,
            base_url=f"{api_url}/bot",
            base_file_url=f"{api_url}/file/bot",
            request=QuietRequest(),
        )
        self.pacer = pacer
        self.feedback = feedback

    def _buttons(self, chat: str) -> InlineKeyboardMarkup | None:
        """The grading buttons for an alert in `chat`, if it wants them."""
        if self.feedback is None or not self.feedback(chat):
            return None
        return keyboard()

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
                reply_markup=self._buttons(alert.chat),
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
                reply_markup=self._buttons(alert.chat),
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

    async def send_digest(self, part: DigestPart, chat_id: str, notify: bool = True) -> str | None:
        """Send one message of a digest or group (silently unless `notify`); return its id."""
        chat = part.alerts[0].chat if part.alerts else chat_id

        def request() -> Awaitable[Message | bool]:
            return self.bot.send_message(
                chat_id=chat_id,
                text=part.html,
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                disable_notification=not notify,
                reply_markup=self._buttons(chat),
            )

        message = await self._call(chat, chat_id, request)
        return str(message.message_id) if isinstance(message, Message) else None

    async def edit_digest(self, message_id: str, part: DigestPart, chat_id: str) -> None:
        """Rewrite one message of a group; an unchanged message is fine."""
        chat = part.alerts[0].chat if part.alerts else chat_id

        def request() -> Awaitable[Message | bool]:
            return self.bot.edit_message_text(
                chat_id=chat_id,
                message_id=int(message_id),
                text=part.html,
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                reply_markup=self._buttons(chat),
            )

        try:
            await self._call(chat, chat_id, request)
        except DeliveryError as exc:
            if "message is not modified" not in str(exc).lower():
                raise

    async def reply(self, chat: str, chat_id: str, text: str, thread: int | None = None) -> None:
        """Answer a bot command in chat `chat_id` (Telegram HTML), in forum topic `thread`.

        Paced with the chat's alerts (which go first), `RetryAfter` waited out as for alerts;
        a failure to reach Telegram is tried again twice, a second and two seconds later.
        """

        def request() -> Awaitable[Message | bool]:
            return self.bot.send_message(
                chat_id=chat_id,
                text=text,
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                message_thread_id=thread,
            )

        for attempt in range(REPLY_ATTEMPTS):
            try:
                await self._call(chat, chat_id, request, Pacer.REPLY)
                return
            except DeliveryError as exc:
                if not exc.outage or attempt == REPLY_ATTEMPTS - 1:
                    raise
            await asyncio.sleep(2**attempt)

    async def _call(
        self,
        chat: str,
        chat_id: str,
        request: Callable[[], Awaitable[Message | bool]],
        priority: int = Pacer.ALERT,
    ) -> Message | bool | None:
        """Make one paced request, waiting out `RetryAfter` a few times; map PTB's errors."""
        for _ in range(3):
            try:
                async with self.pacer.turn(chat_id, priority):
                    try:
                        return await request()
                    except RetryAfter as exc:  # the chat's next turn, whoever has it, waits
                        self.pacer.hold(chat_id, _wait_out(exc.retry_after))
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
            except TimedOut as exc:
                raise _timed_out(exc) from None
            except NetworkError as exc:
                raise _network_error(exc) from None
            except TelegramError as exc:  # e.g. a reply that is not the Bot API's JSON
                raise DeliveryError(
                    f"unexpected answer from Telegram: {exc.message}", outage=True
                ) from None
        raise DeliveryError("Telegram kept asking to retry later")


def keyboard(chosen: str | None = None) -> InlineKeyboardMarkup:
    """The grading buttons under an alert, in one row; `chosen` marked as the last choice."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in buttons(chosen)]]
    )


class QuietRequest(HTTPXRequest):
    """PTB's HTTP client, without its ERROR line and traceback for an answer that is not JSON.

    A proxy's 502 page or an empty 5xx body is an expected outage; `TelegramSink` reports it
    as a plain, retryable `DeliveryError` instead.
    """

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        """Parse the Bot API's JSON answer; raise `TelegramError` quietly when it is not JSON."""
        try:
            parsed = json.loads(payload.decode("utf-8", "replace"))
        except ValueError:
            raise TelegramError("Invalid server response") from None
        if not isinstance(parsed, dict):
            raise TelegramError("Invalid server response")
        return parsed


# Timeouts and transport errors that prove the request never reached Telegram.
_NOT_SENT = ("ConnectTimeout", "PoolTimeout", "ConnectError")


def _timed_out(exc: TimedOut) -> DeliveryError:
    """A timeout: before connecting nothing was sent; after sending, Telegram may have it."""
    if type(exc.__cause__).__name__ in _NOT_SENT or "pool timeout" in exc.message.lower():
        return DeliveryError("Telegram did not accept a connection in time", outage=True)
    # At-least-once: a duplicate costs the analyst a glance, a lost alert costs an event.
    return DeliveryError(
        "Telegram did not answer in time (it may have the message; it is sent again later)",
        outage=True,
        ambiguous=True,
    )


def _network_error(exc: NetworkError) -> DeliveryError:
    """Name a transport failure or a 5xx answer without repeating the body Telegram sent."""
    text = exc.message
    if text.startswith("httpx."):  # no HTTP answer at all
        name = text.removeprefix("httpx.").split(":", 1)[0]
        return DeliveryError(
            f"network error talking to Telegram ({name})",
            outage=True,
            ambiguous=name not in _NOT_SENT,
        )
    return DeliveryError(f"Telegram answered {without_page(text)}", outage=True)


def without_page(message: str) -> str:
    """A Telegram error's message without the HTML page a proxy answered with, if any."""
    return message.split(". Parsing the server response", 1)[0][:120]


def _seconds(value: int | float | timedelta) -> float:
    if isinstance(value, timedelta):
        value = value.total_seconds()
    return min(float(value), MAX_RETRY_AFTER_SECONDS)


# A RetryAfter longer than this is not waited out in the round: the alerts are tried again then.
RETRY_AFTER_WAIT = 60.0


def _wait_out(retry_after: int | float | timedelta) -> float:
    """Return the seconds to wait as Telegram asked, or give up on the round when it asks
    for long."""
    asked = retry_after.total_seconds() if isinstance(retry_after, timedelta) else retry_after
    if asked > RETRY_AFTER_WAIT:  # not worth holding the round (and `once`) for
        raise DeliveryError(f"Telegram asks to wait {asked:.0f} s (RetryAfter)", retry_after=asked)
    return _seconds(retry_after) + 0.1
