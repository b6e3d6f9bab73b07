"""One delivery attempt and its record: claimed in the database before anything is sent, its
outcome (sent, retry later, dead) recorded for every alert it carried. The `Ledger` keeps sends
the database could not record yet, and whether the destination answers, from round to round."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Literal

from monitor.errors import ChatBlocked, ChatMoved, DeliveryError, StoreUnavailable
from monitor.metrics import Metrics
from monitor.outages import Outage
from monitor.store import ChatState, Store

logger = logging.getLogger(__name__)

# A retryable failure waits 5 s, doubling per attempt, at most this long.
MAX_RETRY_DELAY = timedelta(minutes=10)
# While Telegram itself is away, a chat's next try is at most this far off, so delivery resumes
# soon after it is back (one cheap request per chat and interval meanwhile).
OUTAGE_RETRY_DELAY = timedelta(seconds=30)
# A chat that blocked the bot is tried again after this long, in case it was unblocked.
BLOCKED_RECHECK = timedelta(hours=24)


def retry_delay(attempts: int, cap: timedelta = MAX_RETRY_DELAY) -> timedelta:
    """Wait before the next try after `attempts` failures: 5 s doubling, capped."""
    return min(timedelta(seconds=5 * 2 ** min(attempts, 20)), cap)


class Ledger:
    """What delivery knows that the database may not yet, and whether alerts' destination answers.

    A send that Telegram accepted but whose "sent" mark the database refused is kept here and
    written before anything else is sent, so an alert never goes out twice for that reason.
    One `Ledger` lives as long as the service.
    """

    def __init__(self, destination: str = "Telegram Bot API") -> None:
        """`destination` names where alerts go, for the outage lines."""
        self.unrecorded: list[tuple[tuple[int, ...], str | None, datetime, str, str | None]] = []
        self.destination = Outage(destination, "alerts wait in the outbox")

    def sent(
        self,
        ids: Sequence[int],
        message_id: str | None,
        now: datetime,
        via: str,
        part: str | None = None,
    ) -> None:
        """Remember a send the database did not record."""
        self.unrecorded.append((tuple(ids), message_id, now, via, part))

    def flush(self, store: Store) -> None:
        """Record the remembered sends; raises `StoreUnavailable` while the database refuses."""
        while self.unrecorded:
            ids, message_id, when, via, part = self.unrecorded[0]
            store.outbox.mark_sent(ids, message_id, when, via=via, part=part)
            self.unrecorded.pop(0)
            logger.warning("alerts %s: their earlier send is recorded now", _ids(ids))


class Attempt:
    """Try to deliver some alerts of one chat and record the outcome for all of them."""

    def __init__(
        self,
        store: Store,
        chat: str,
        ids: Sequence[int],
        attempts: int,
        ledger: Ledger,
        metrics: Metrics | None,
    ) -> None:
        self.store = store
        self.chat = chat
        self.ids = ids
        self.attempts = attempts
        self.ledger = ledger
        self.metrics = metrics

    async def run(
        self,
        deliver: Callable[[str], Awaitable[str | None]],
        target: tuple[str, str],
        state: ChatState | None,
        now: datetime,
        via: str = "message",
        part: str | None = None,
    ) -> Literal["sent", "dead", "wait"]:
        """Call `deliver(chat_id)`; return sent, dead (never retried) or wait (retry later).

        `target` is the chat's configured id and the id to send to (different after a
        migration). The attempt is claimed in the database before anything is sent.
        """
        store, chat = self.store, self.chat
        configured, chat_id = target
        for _ in range(2):  # a second pass only after following a migrated chat
            store.outbox.claim_attempt(self.ids, now)  # StoreUnavailable: nothing is sent
            try:
                message_id = await deliver(chat_id)
            except ChatMoved as exc:
                logger.warning("%s; sending there from now on (update chats.yaml)", exc)
                store.chats.moved(chat, configured, exc.new_chat_id)
                chat_id = exc.new_chat_id
                continue
            except ChatBlocked as exc:
                logger.error("%s; chat disabled, its alerts wait (retrying daily)", exc)
                store.chats.disabled(chat, configured, str(exc), now)
                store.outbox.mark_attempt_failed(self.ids, str(exc), now + BLOCKED_RECHECK)
                return "wait"
            except DeliveryError as exc:
                self._failed(exc, now)
                return "dead" if exc.permanent else "wait"
            self.ledger.destination.ok()
            try:
                if state is not None and state.disabled_at is not None:
                    store.chats.enabled(chat)
                    logger.warning("chat %s accepts messages again", chat)
                store.outbox.mark_sent(self.ids, message_id, now, via=via, part=part)
            except StoreUnavailable:
                self.ledger.sent(self.ids, message_id, now, via, part)  # recorded first next time
                raise
            return "sent"
        store.outbox.mark_attempt_failed(
            self.ids, "chat kept moving", now + retry_delay(self.attempts)
        )
        return "wait"

    def _failed(self, exc: DeliveryError, now: datetime) -> None:
        """Record a failed send; an outage of Telegram is logged once, not per alert."""
        cap = OUTAGE_RETRY_DELAY if exc.outage else MAX_RETRY_DELAY
        retry_at = None if exc.permanent else now + retry_delay(self.attempts, cap)
        if exc.retry_after is not None:
            retry_at = now + timedelta(seconds=exc.retry_after)
        if exc.outage:
            self.ledger.destination.failed(str(exc), deferred="send attempt")
        else:
            logger.warning("alerts %s to chat %s not delivered: %s", _ids(self.ids), self.chat, exc)
        if exc.ambiguous and self.metrics is not None:
            self.metrics.ambiguous_send(self.chat)
        self.store.outbox.mark_attempt_failed(self.ids, str(exc), retry_at, ambiguous=exc.ambiguous)


def _ids(ids: Sequence[int]) -> str:
    return ", ".join(str(i) for i in ids[:5]) + (" …" if len(ids) > 5 else "")
