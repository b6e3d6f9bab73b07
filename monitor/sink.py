"""Where alerts go: the `Sink` every destination implements, and the console sink (stdout and
`state/alerts.jsonl`, when no Telegram token is configured). Telegram is `telegram_sink.py`."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Protocol, TextIO

from monitor.errors import DeliveryError
from monitor.models import Alert
from monitor.render import DigestPart, render_text, sources_text


class Sink(Protocol):
    """Where alerts go: new messages (optionally as replies), edits of earlier ones, digests."""

    async def start(self) -> None:
        """Get ready to send (check credentials); raise `DeliveryError` when it cannot."""

    async def stop(self) -> None:
        """Release what `start` took."""

    async def send(self, alert: Alert, chat_id: str, reply_to: str | None = None) -> str | None:
        """Post an alert; return the new message's id, if known."""

    async def edit(
        self, message_id: str, alert: Alert, chat_id: str, sources: Sequence[Alert]
    ) -> None:
        """Rewrite the story message `message_id` to list `sources` (newest first)."""

    async def send_digest(self, part: DigestPart, chat_id: str, notify: bool = True) -> str | None:
        """Post one message of a digest or group (silently unless `notify`); return its id."""

    async def edit_digest(self, message_id: str, part: DigestPart, chat_id: str) -> None:
        """Rewrite one message of a group (more sources under one of its reports)."""

    async def notice(self, text: str, chat_id: str) -> None:
        """Tell an operator chat something about the service itself (plain text)."""


class ConsoleSink:
    """Print alerts to a stream and append them as JSON lines to a file."""

    def __init__(self, jsonl: Path, stream: TextIO | None = None) -> None:
        self.jsonl = jsonl
        self.stream = stream or sys.stdout

    async def start(self) -> None:
        """Nothing to prepare."""

    async def stop(self) -> None:
        """Nothing to release."""

    async def send(self, alert: Alert, chat_id: str, reply_to: str | None = None) -> str | None:
        """Write the alert; return an id that later updates of its story refer to."""
        self._append(alert, {"reply_to": reply_to})
        prefix = "Follow-up: " if reply_to else ""
        print(prefix + render_text(alert), end="\n\n", file=self.stream, flush=True)
        return f"console-{time.time_ns()}"

    async def edit(
        self, message_id: str, alert: Alert, chat_id: str, sources: Sequence[Alert]
    ) -> None:
        """Print which outlets now also report the story."""
        self._append(sources[0], {"update_of": message_id, "sources": len(sources) + 1})
        print(f"Update: {alert.title}\n{sources_text(sources)}", end="\n\n", file=self.stream)

    async def notice(self, text: str, chat_id: str) -> None:
        """Print a notice for the operators."""
        print(f"Notice for operators: {text}", end="\n\n", file=self.stream, flush=True)

    async def send_digest(self, part: DigestPart, chat_id: str, notify: bool = True) -> str | None:
        """Print one digest or group message; return an id for it."""
        message_id = f"console-{time.time_ns()}"
        for alert in part.alerts:
            self._append(alert, {"digest": message_id})
        print(part.text, end="\n\n", file=self.stream, flush=True)
        return message_id

    async def edit_digest(self, message_id: str, part: DigestPart, chat_id: str) -> None:
        """Print the grouped message again, as it now reads."""
        self._append(part.alerts[-1], {"update_of": message_id})
        print(f"Update:\n{part.text}", end="\n\n", file=self.stream, flush=True)

    def _append(self, alert: Alert, extra: dict[str, object]) -> None:
        record: dict[str, object] = asdict(alert)
        record["published"] = alert.published.isoformat() if alert.published else None
        record.update(extra)
        try:
            self.jsonl.parent.mkdir(parents=True, exist_ok=True)
            with self.jsonl.open("a", encoding="utf-8") as out:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        except OSError as exc:  # a read-only or full state directory: try again later
            raise DeliveryError(
                f"cannot append to {self.jsonl}: {exc.strerror or exc}", outage=True
            ) from None
