"""The bot's replies fitted to Telegram's length limit: blocks joined into pages, and a last
guard that cuts an over-long reply at a line break."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.render import MAX_MESSAGE_UNITS, utf16_len


def paginate(blocks: Sequence[str], separator: str = "\n\n") -> list[str]:
    """Join blocks into as few messages as fit Telegram's limit."""
    pages: list[str] = []
    current = ""
    for block in blocks:
        candidate = f"{current}{separator}{block}" if current else block
        if current and utf16_len(candidate) > MAX_MESSAGE_UNITS:
            pages.append(current)
            candidate = block
        current = candidate
    if current:
        pages.append(current)
    return pages


def fit(reply: str) -> str:
    """Last guard: a reply longer than Telegram allows is cut at a line break."""
    if utf16_len(reply) <= MAX_MESSAGE_UNITS:
        return reply
    cut = reply[: MAX_MESSAGE_UNITS - 100].rsplit("\n", 1)[0]
    return cut + "\n…"
