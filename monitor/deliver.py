"""Deliver alerts: Telegram HTML, the Telegram sink (python-telegram-bot), the console sink."""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
import sys
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol, TextIO
from zoneinfo import ZoneInfo

from telegram import Bot, LinkPreviewOptions
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

from monitor.errors import DeliveryError
from monitor.models import Alert
from monitor.snippet import mark_snippet
from monitor.store import Store

logger = logging.getLogger(__name__)

BERLIN = ZoneInfo("Europe/Berlin")
_TAG = re.compile(r"<[^>]+>")
# Telegram counts 4096 characters of visible text in UTF-16 code units; keep a margin.
MAX_MESSAGE_UNITS = 4000
MAX_TITLE_CHARS = 300
MAX_RETRY_AFTER_SECONDS = 120


class Sink(Protocol):
    """Where alerts go; returns the id of the message it created, if it knows one."""

    async def send(self, alert: Alert) -> str | None: ...


def utf16_len(text: str) -> int:
    """Return the length of `text` as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def render_html(alert: Alert) -> str:
    """Render an alert as Telegram HTML: only <b>, <i> and <a href>, everything else escaped."""
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
    budget = MAX_MESSAGE_UNITS - utf16_len(_visible(head)) - 2
    return f"{head}\n\n{_snippet_html(alert, budget)}"


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

    async def send(self, alert: Alert) -> str | None:
        """Write the alert; return None, as the console has no message ids."""
        print(render_text(alert), end="\n\n", file=self.stream, flush=True)
        record = asdict(alert)
        record["published"] = alert.published.isoformat() if alert.published else None
        self.jsonl.parent.mkdir(parents=True, exist_ok=True)
        with self.jsonl.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return None


class TelegramSink:
    """Send alerts with a python-telegram-bot `Bot` pointed at `api_url`."""

    def __init__(self, token: str, api_url: str) -> None:
        self.bot = Bot(token, base_url=f"{api_url}/bot", base_file_url=f"{api_url}/file/bot")

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

    async def send(self, alert: Alert) -> str | None:
        """Send one alert, waiting out `RetryAfter` a few times; map PTB errors to ours."""
        for _ in range(3):
            try:
                message = await self.bot.send_message(
                    chat_id=alert.chat_id,
                    text=render_html(alert),
                    parse_mode=ParseMode.HTML,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
                return str(message.message_id)
            except RetryAfter as exc:
                await asyncio.sleep(_seconds(exc.retry_after) + 0.1)
            except Forbidden as exc:
                raise DeliveryError(
                    f"bot cannot post to chat {alert.chat!r}: {exc.message}", permanent=True
                ) from None
            except ChatMigrated as exc:
                raise DeliveryError(
                    f"chat {alert.chat!r} became supergroup {exc.new_chat_id}; update chats.yaml",
                    permanent=True,
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
                logger.warning("send to chat %s timed out; counting it as delivered", alert.chat)
                return None
            except NetworkError as exc:
                raise DeliveryError(f"network error talking to Telegram: {exc.message}") from None
        raise DeliveryError("Telegram kept asking to retry later")


def _seconds(value: int | float | timedelta) -> float:
    if isinstance(value, timedelta):
        value = value.total_seconds()
    return min(float(value), MAX_RETRY_AFTER_SECONDS)


async def deliver_pending(store: Store, sink: Sink, now: datetime) -> int:
    """Send pending alerts oldest first; return how many were delivered.

    A chat whose send fails is skipped for the rest of the round, so its alerts keep their order.
    """
    delivered = 0
    stalled: set[str] = set()
    for pending in store.pending_alerts():
        if pending.alert.chat in stalled:
            continue
        try:
            message_id = await sink.send(pending.alert)
        except DeliveryError as exc:
            logger.warning(
                "alert %d to chat %s not delivered: %s", pending.id, pending.alert.chat, exc
            )
            store.mark_attempt_failed(pending.id, str(exc), permanent=exc.permanent)
            if not exc.permanent:
                stalled.add(pending.alert.chat)
            continue
        store.mark_sent(pending.id, message_id, now)
        delivered += 1
    return delivered
