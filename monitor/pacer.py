"""Keep a bot's messages under Telegram's limits, per chat and overall."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import AsyncIterator

# Telegram's global limit is about 30 messages per second across all chats.
GLOBAL_INTERVAL = 1 / 30


class Pacer:
    """Keep under Telegram's limits: per chat (private ~1/s, groups ~20/min) and ~30/s overall.

    Alerts and the bot's replies share one pacer, so together they keep a chat's pace. In
    each chat messages take turns: an alert goes before replies still waiting (a command flood
    delays alerts by one message at most), otherwise first come, first served.
    """

    ALERT = 0
    REPLY = 1

    def __init__(self, private_interval: float, group_interval: float) -> None:
        self.private_interval = private_interval
        self.group_interval = group_interval
        self._next_in_chat: dict[str, float] = {}
        self._next_global = 0.0
        # per chat, who waits for a turn: (priority, ticket, woken when it is theirs)
        self._queues: dict[str, list[tuple[int, int, asyncio.Future[None]]]] = {}
        self._tickets = itertools.count()

    def interval(self, chat_id: str) -> float:
        """Return the minimum gap between two messages to `chat_id`."""
        private = chat_id.isdigit()  # users have positive ids; groups negative, channels @name
        return self.private_interval if private else self.group_interval

    def hold(self, chat_id: str, seconds: float) -> None:
        """Send nothing more to `chat_id` for `seconds` (Telegram answered 429 RetryAfter)."""
        until = time.monotonic() + seconds
        self._next_in_chat[chat_id] = max(self._next_in_chat.get(chat_id, 0.0), until)

    def waiting(self, chat_id: str) -> int:
        """Return how many messages to `chat_id` wait for their turn (the one sending included)."""
        return len(self._queues.get(chat_id, ()))

    @contextlib.asynccontextmanager
    async def turn(self, chat_id: str, priority: int = ALERT) -> AsyncIterator[None]:
        """Wait until a message to `chat_id` keeps within both limits, then let it be sent.

        The chat's interval counts from when the message has been sent, and only then does
        the next one take its turn: Telegram counts from when a message arrives, and a slow
        request must not let the next, faster one arrive too soon after it.
        """
        queue = self._queues.setdefault(chat_id, [])
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (priority, next(self._tickets), turn)
        heapq.heappush(queue, entry)
        if queue[0] is entry:
            turn.set_result(None)
        sending = False
        try:
            await turn
            now = time.monotonic()
            start = max(now, self._next_in_chat.get(chat_id, 0.0), self._next_global)
            self._next_global = start + GLOBAL_INTERVAL
            if start > now:
                await asyncio.sleep(start - now)
            sending = True
            yield
        finally:  # sent, failed or cancelled: the next in line takes its turn
            if sending:
                after = time.monotonic() + self.interval(chat_id)
                self._next_in_chat[chat_id] = max(self._next_in_chat.get(chat_id, 0.0), after)
            queue.remove(entry)
            heapq.heapify(queue)
            if queue:
                if not queue[0][2].done():
                    queue[0][2].set_result(None)
            else:
                del self._queues[chat_id]
