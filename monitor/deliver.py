"""Deliver alerts: Telegram HTML, the Telegram sink (python-telegram-bot), the console sink."""

from __future__ import annotations

import asyncio
import html
import json
import logging
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, Protocol, TextIO
from zoneinfo import ZoneInfo

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
from monitor.snippet import mark_snippet
from monitor.store import ChatState, PendingAlert, Store

logger = logging.getLogger(__name__)

BERLIN = ZoneInfo("Europe/Berlin")
_TAG = re.compile(r"<[^>]+>")
# Telegram counts 4096 characters of visible text in UTF-16 code units; keep a margin.
MAX_MESSAGE_UNITS = 4000
MAX_TITLE_CHARS = 300
MAX_RETRY_AFTER_SECONDS = 120
MAX_SOURCES_LISTED = 10
# Telegram's global limit is about 30 messages per second across all chats.
GLOBAL_INTERVAL = 1 / 30
# A retryable failure waits 5 s, doubling per attempt, at most this long.
MAX_RETRY_DELAY = timedelta(minutes=10)
# A chat that blocked the bot is tried again after this long, in case it was unblocked.
BLOCKED_RECHECK = timedelta(hours=24)


class Sink(Protocol):
    """Where alerts go: new messages (optionally as replies) and edits of earlier ones."""

    async def send(self, alert: Alert, chat_id: str, reply_to: str | None = None) -> str | None:
        """Post an alert; return the new message's id, if known."""

    async def edit(
        self, message_id: str, alert: Alert, chat_id: str, sources: Sequence[Alert]
    ) -> None:
        """Rewrite the story message `message_id` to list `sources` (newest first)."""


def utf16_len(text: str) -> int:
    """Return the length of `text` as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def render_html(alert: Alert, sources: Sequence[Alert] = ()) -> str:
    """Render an alert as Telegram HTML: only <b>, <i> and <a href>, everything else escaped.

    `sources` are later reports of the same story by other outlets, newest first; they are
    listed under the snippet ("Also reported by ... (3 sources)").
    """
    title = _clip(alert.title or "(untitled)", MAX_TITLE_CHARS)
    heading = (
        f'<a href="{html.escape(alert.link, quote=True)}">{html.escape(title)}</a>'
        if alert.link
        else f"<b>{html.escape(title)}</b>"
    )
    lines = [
        f"<b>{html.escape(' · '.join(alert.topics))}</b>",
        heading,
        html.escape(_byline(alert)),
    ]
    if not alert.from_page:
        lines.append(f"<i>{html.escape(unavailable(alert))}</i>")
    head = "\n".join(lines)
    footer = _sources_html(sources)
    budget = MAX_MESSAGE_UNITS - utf16_len(_visible(head + footer)) - 4
    tail = f"\n\n{footer}" if footer else ""
    return f"{head}\n\n{_snippet_html(alert, budget)}{tail}"


def _sources_html(sources: Sequence[Alert]) -> str:
    """List other outlets' reports of the story, newest first, with links and times."""
    if not sources:
        return ""
    shown = []
    for source in sources[:MAX_SOURCES_LISTED]:
        outlet = html.escape(_clip(source.outlet, 60))
        when = f" {source.published.astimezone(BERLIN):%H:%M}" if source.published else ""
        shown.append(
            f'<a href="{html.escape(source.link, quote=True)}">{outlet}</a>{when}'
            if source.link
            else f"{outlet}{when}"
        )
    more = len(sources) - MAX_SOURCES_LISTED
    listed = ", ".join(shown) + (f" and {more} more" if more > 0 else "")
    return f"<i>Also reported by</i> {listed} ({len(sources) + 1} sources)"


def sources_text(sources: Sequence[Alert]) -> str:
    """Say in plain text which outlets also reported the story, newest first."""
    names = ", ".join(source.outlet for source in sources)
    return f"Also reported by {names} ({len(sources) + 1} sources)"


def render_text(alert: Alert) -> str:
    """Render an alert as plain text for the console."""
    marked = mark_snippet(alert.snippet, alert.highlights, "**", "**")
    if not alert.from_page:
        marked += f"\n({unavailable(alert)[0].lower()}{unavailable(alert)[1:]})"
    return "\n".join(
        [f"[{' · '.join(alert.topics)}] {alert.title}", _byline(alert), alert.link or "", marked]
    )


def unavailable(alert: Alert) -> str:
    """Say why an alert was matched on the feed's summary rather than the article."""
    if alert.blocked_by:
        return f"Matched on the feed's summary: the article is behind {alert.blocked_by}."
    return "Matched on the feed's summary; the article text was not available."


def _byline(alert: Alert) -> str:
    if alert.published is None:
        return alert.outlet
    local = alert.published.astimezone(BERLIN)
    return f"{alert.outlet} · {local:%d.%m.%Y %H:%M} {local.tzname()}"


def _snippet_html(alert: Alert, budget: int) -> str:
    """Escape the snippet with hits in bold, cut to `budget` visible UTF-16 units."""
    snippet = alert.snippet
    if utf16_len(snippet) > budget:
        cut = budget - 1
        while utf16_len(snippet[:cut]) > budget - 1:
            cut -= 1
        snippet = snippet[:cut] + "…"
    return mark_snippet(snippet, alert.highlights, "<b>", "</b>", html.escape)


def _visible(text: str) -> str:
    """Return the text Telegram shows for our own HTML (tags dropped, entities decoded)."""
    return html.unescape(_TAG.sub("", text))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ConsoleSink:
    """Print alerts to a stream and append them as JSON lines to a file."""

    def __init__(self, jsonl: Path, stream: TextIO | None = None) -> None:
        self.jsonl = jsonl
        self.stream = stream or sys.stdout

    async def send(self, alert: Alert, chat_id: str, reply_to: str | None = None) -> str | None:
        """Write the alert; return an id that later updates of its story refer to."""
        prefix = "Follow-up: " if reply_to else ""
        print(prefix + render_text(alert), end="\n\n", file=self.stream, flush=True)
        self._append(alert, {"reply_to": reply_to})
        return f"console-{time.time_ns()}"

    async def edit(
        self, message_id: str, alert: Alert, chat_id: str, sources: Sequence[Alert]
    ) -> None:
        """Print which outlets now also report the story."""
        print(f"Update: {alert.title}\n{sources_text(sources)}", end="\n\n", file=self.stream)
        self._append(sources[0], {"update_of": message_id, "sources": len(sources) + 1})

    def _append(self, alert: Alert, extra: dict[str, object]) -> None:
        record: dict[str, object] = asdict(alert)
        record["published"] = alert.published.isoformat() if alert.published else None
        record.update(extra)
        self.jsonl.parent.mkdir(parents=True, exist_ok=True)
        with self.jsonl.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


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

    async def _call(
        self, chat: str, chat_id: str, request: Callable[[], Awaitable[Message | bool]]
    ) -> Message | bool | None:
        """Make one paced request, waiting out `RetryAfter` a few times; map PTB's errors."""
        for _ in range(3):
            await self.pacer.wait(chat_id)
            try:
                return await request()
            except RetryAfter as exc:
                await asyncio.sleep(_seconds(exc.retry_after) + 0.1)
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


def retry_delay(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failures: 5 s doubling, capped."""
    return min(timedelta(seconds=5 * 2 ** min(attempts, 20)), MAX_RETRY_DELAY)


async def deliver_pending(
    store: Store,
    sink: Sink,
    now: datetime,
    chats: Mapping[str, str],
    dead_after: timedelta,
) -> int:
    """Send (or fold into their story's message) the due alerts, in order per chat.

    `chats` are the configured chat ids by name. A chat whose delivery fails is skipped for
    the rest of the round, so its alerts keep their order; alerts undelivered for `dead_after`
    become dead. Returns how many alerts were delivered.
    """
    expired = store.expire_pending(now - dead_after)
    if expired:
        logger.error(
            "%d alerts undelivered for %s are now dead (see monitor status)", expired, dead_after
        )
    delivered = 0
    stalled: set[str] = set()
    states = {state.name: state for state in store.chat_states()}  # read once per round
    for pending in store.pending_alerts(now):
        chat = pending.alert.chat
        if chat in stalled:
            continue
        configured = chats.get(chat, pending.alert.chat_id)
        chat_id = _chat_id(store, states.get(chat), configured, now)
        if chat_id is None:
            stalled.add(chat)
            continue
        outcome = await _attempt(store, sink, pending, (configured, chat_id), states.get(chat), now)
        if outcome != "sent" or chat in states:
            # the attempt may have disabled, moved or re-enabled the chat
            state = store.chat_state(chat)
            states.pop(chat, None)
            if state is not None:
                states[chat] = state
        if outcome == "sent":
            delivered += 1
        elif outcome == "wait":
            stalled.add(chat)  # later alerts of this chat must not overtake this one
    return delivered


def _chat_id(store: Store, state: ChatState | None, configured: str, now: datetime) -> str | None:
    """Return where to send for a chat, following a migration; None while it is blocked."""
    if state is None:
        return configured
    if state.chat_id != configured:  # the operator changed the id: start afresh
        store.forget_chat(state.name)
        return configured
    if state.disabled_at is not None and now - state.disabled_at < BLOCKED_RECHECK:
        return None
    return state.moved_to or configured


async def _attempt(
    store: Store,
    sink: Sink,
    pending: PendingAlert,
    target: tuple[str, str],
    state: ChatState | None,
    now: datetime,
) -> Literal["sent", "dead", "wait"]:
    """Try one alert and record the outcome: sent, dead (never retried) or wait (retry later).

    `target` is the chat's configured id and the id to send to (different after a migration).
    """
    chat = pending.alert.chat
    configured, chat_id = target
    for _ in range(2):  # a second pass only after following a migrated chat
        try:
            message_id = await _deliver_one(store, sink, pending, chat_id)
        except ChatMoved as exc:
            logger.warning("%s; sending there from now on (update chats.yaml)", exc)
            store.chat_moved(chat, configured, exc.new_chat_id)
            chat_id = exc.new_chat_id
            continue
        except ChatBlocked as exc:
            logger.error("%s; chat disabled, its alerts wait (retrying daily)", exc)
            store.chat_disabled(chat, configured, str(exc), now)
            store.mark_attempt_failed(pending.id, str(exc), now + BLOCKED_RECHECK)
            return "wait"
        except DeliveryError as exc:
            retry_at = None if exc.permanent else now + retry_delay(pending.attempts)
            logger.warning("alert %d to chat %s not delivered: %s", pending.id, chat, exc)
            store.mark_attempt_failed(pending.id, str(exc), retry_at)
            return "dead" if exc.permanent else "wait"
        if state is not None and state.disabled_at is not None:
            store.chat_enabled(chat)
            logger.warning("chat %s accepts messages again", chat)
        store.mark_sent(pending.id, message_id, now)
        return "sent"
    store.mark_attempt_failed(pending.id, "chat kept moving", now + retry_delay(pending.attempts))
    return "wait"


async def _deliver_one(store: Store, sink: Sink, pending: PendingAlert, chat_id: str) -> str | None:
    """Send the alert, or edit its story's message when it is the same report again."""
    alert = pending.alert
    if pending.story is None or pending.kind == "new":
        return await sink.send(alert, chat_id)
    earlier = store.story_alerts(alert.chat, pending.story, before=pending.id)
    root = next((a for a in earlier if a.status == "sent" and a.message_id), None)
    if root is None or root.message_id is None:
        return await sink.send(alert, chat_id)  # this chat has not seen the story yet
    if pending.kind == "followup":
        return await sink.send(alert, chat_id, reply_to=root.message_id)
    sources = [
        a.alert
        for a in reversed(earlier)
        if a is not root and a.kind == "same" and a.message_id == root.message_id
    ]
    try:
        await sink.edit(root.message_id, root.alert, chat_id, [alert, *sources])
    except DeliveryError as exc:
        if not exc.permanent or isinstance(exc, ChatBlocked):
            raise
        logger.warning(
            "cannot edit the story message in chat %s (%s); sending anew", alert.chat, exc
        )
        return await sink.send(alert, chat_id)
    return root.message_id
