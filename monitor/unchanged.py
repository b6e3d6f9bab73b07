"""Polls answered 304 Not Modified, recorded together: one transaction per batch, not per feed.

A warm round is mostly 304s, and a transaction per feed was most of its cost after the HTTP
requests (BENCHMARKS.md, polling). A batch is written when it holds `BATCH` polls, `DELAY`
seconds after its first poll, and whenever the owner flushes (the end of `monitor once`, a
stop). A batch the database refuses is not retried: its feeds keep their old schedule, so they
are simply polled again (a claim on one lapses with its lease).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from monitor.errors import StoreUnavailable
from monitor.store import Feeds, Unchanged

BATCH = 200
DELAY = 0.1


class UnchangedPolls:
    """Collects 304 polls and writes them in batches (`add`, `flush`)."""

    def __init__(self, feeds: Feeds, refused: Callable[[StoreUnavailable], None]) -> None:
        self._feeds = feeds
        self._refused = refused
        self._pending: list[Unchanged] = []
        self._timer: asyncio.TimerHandle | None = None

    def add(self, poll: Unchanged) -> None:
        """Record `poll` with the next batch (inside a running event loop)."""
        self._pending.append(poll)
        if len(self._pending) >= BATCH:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(DELAY, self.flush)

    def flush(self) -> None:
        """Write what is pending now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        try:
            self._feeds.unchanged(batch)
        except StoreUnavailable as exc:
            self._refused(exc)

    def __len__(self) -> int:
        return len(self._pending)
