"""getUpdates made safe for the command bot: an unreadable update is skipped once, not fetched
again and again, and a timed-out long poll is a failure PTB backs off from."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.error import NetworkError, TelegramError, TimedOut

from monitor.telegram_sink import QuietRequest


class UpdatesRequest(QuietRequest):
    """The HTTP client for getUpdates, made safe against answers PTB would spin on.

    PTB fetches a batch again at once when it cannot read one update in it (the batch is never
    confirmed), and retries a timed-out long poll at once: both are a tight loop. Here an
    unreadable update is replaced by its bare number (so it is confirmed and skipped, reported
    once through `skipped`), an answer that is not a list of numbered updates and a timeout
    are failures PTB backs off from (1 s, growing to 30 s).
    """

    def __init__(self, skipped: Callable[[int, str], None]) -> None:
        super().__init__()
        self.skipped = skipped

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        """Make the request; a timeout becomes a network failure, which PTB backs off from."""
        try:
            return await super().do_request(*args, **kwargs)
        except TimedOut as exc:
            raise NetworkError(f"getUpdates timed out ({exc.message})") from None

    def parse_json_payload(self, payload: bytes) -> dict[str, Any]:  # type: ignore[override]
        """Parse the answer; skip each update PTB could not read."""
        parsed = QuietRequest.parse_json_payload(payload)
        if parsed.get("ok") is not True:
            return parsed  # an error answer: PTB raises from it
        updates = parsed.get("result")
        if not isinstance(updates, list) or not all(_numbered(update) for update in updates):
            raise TelegramError("Invalid server response: not a list of numbered updates")
        readable = []
        for update in updates:
            problem = _unreadable(update)
            if problem is not None:
                self.skipped(update["update_id"], problem)
                update = {"update_id": update["update_id"]}
            readable.append(update)
        return {**parsed, "result": readable}


def _numbered(update: object) -> bool:
    return isinstance(update, dict) and type(update.get("update_id")) is int


def _unreadable(update: dict[str, Any]) -> str | None:
    """Say why PTB cannot read `update` (None when it can)."""
    try:
        read = Update.de_json(update, None)
    except Exception as exc:  # whatever PTB raises on input it did not expect
        return f"{type(exc).__name__}: {exc}"
    message = read.effective_message if read is not None else None
    if message is not None and getattr(message, "chat", None) is None:
        return "a message without a chat"
    return None
