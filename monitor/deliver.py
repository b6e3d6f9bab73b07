"""Deliver alerts: one round over the outbox, deciding which go out now and as what (one by
one, grouped as a burst, folded into a digest, held for quiet hours, or muted).

How an alert is sent is `compose.py`; each attempt's claim and record, `attempts.py`; the
destinations, `sink.py` and `telegram_sink.py`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from monitor.attempts import BLOCKED_RECHECK, Attempt, Ledger, retry_delay
from monitor.compose import deliver_one, digest_items
from monitor.digest import ChatRules, digest_interval, is_burst, plan
from monitor.metrics import Metrics
from monitor.render import DigestPart, digest_heading, digest_parts, group_heading
from monitor.sink import ConsoleSink, Sink
from monitor.store import ChatState, PendingAlert, Store, StoryAlert

# The delivery stage's surface, in one place (app.py wires these).
__all__ = ["ConsoleSink", "Ledger", "Sink", "deliver_pending", "retry_delay"]

logger = logging.getLogger(__name__)


async def deliver_pending(
    store: Store,
    sink: Sink,
    now: datetime,
    chats: Mapping[str, str],
    dead_after: timedelta,
    rules: Mapping[str, ChatRules] | None = None,
    topic_digests: Mapping[str, timedelta | None] | None = None,
    metrics: Metrics | None = None,
    budget: float | None = None,
    ledger: Ledger | None = None,
) -> int:
    """Send (or fold into their story's message, or into a digest) the due alerts.

    `chats` are the configured chat ids by name, `rules` each chat's digest and quiet hours,
    `topic_digests` each topic's digest interval. Alerts go out in order per chat; a chat whose
    delivery fails is skipped for the rest of the round, so its alerts keep their order; alerts
    whose topics are all muted in their chat (/mute) are marked muted, not sent; alerts
    undelivered for `dead_after` after falling due become dead. After `budget` seconds no
    further alert is started (the rest wait for the next round, so a delivery leader never
    outlives its lease mid-round). Returns how many were delivered.

    Every send is claimed in the database first; while the database refuses writes nothing
    is sent (`StoreUnavailable` ends the round). `ledger` carries sends not yet recorded and
    Telegram's availability from one round to the next.
    """
    ledger = ledger or Ledger()
    ledger.flush(store)
    expired = store.outbox.expire_pending(now - dead_after)
    if expired:
        logger.error(
            "%d alerts undelivered for %s are now dead (see monitor status)", expired, dead_after
        )
    round_ = _Round(store, sink, now, chats, metrics, ledger)
    if budget is not None:
        round_.deadline = time.monotonic() + budget
    digests = await round_.run(store.outbox.pending(now), rules or {}, topic_digests or {})
    for chat, batch in digests.items():
        if chat not in round_.stalled and time.monotonic() <= round_.deadline:
            await round_.send_digest(chat, batch)
    return round_.delivered


def _story_root(store: Store, pending: PendingAlert) -> StoryAlert | None:
    """Return the alert that opened this alert's story in its chat, if it was delivered."""
    if pending.story is None or pending.kind == "new":
        return None
    # A follow-up opens a story of its own and replies to the one it continues (alerts queued
    # before threads existed carry that story as their own).
    story = pending.thread if pending.kind == "followup" and pending.thread else pending.story
    earlier = store.alerts.of_story(pending.alert.chat, story, before=pending.id)
    return next((a for a in earlier if a.status == "sent" and a.message_id), None)


class _Round:
    """One delivery round: chat states read once, chats that stalled, alerts delivered."""

    def __init__(
        self,
        store: Store,
        sink: Sink,
        now: datetime,
        chats: Mapping[str, str],
        metrics: Metrics | None,
        ledger: Ledger,
    ) -> None:
        self.metrics = metrics
        self.ledger = ledger
        self.store = store
        self.sink = sink
        self.now = now
        self.chats = chats
        self.states = {state.name: state for state in store.chats.states()}
        self.stalled: set[str] = set()
        self.delivered = 0
        self.deadline = float("inf")  # monotonic time after which nothing new is started

    def _target(self, chat: str, fallback: str) -> tuple[str, str] | None:
        """Return (configured id, id to send to) for a chat, or None while it is blocked."""
        configured = self.chats.get(chat, fallback)
        chat_id = _chat_id(self.store, self.states.get(chat), configured, self.now)
        if chat_id is None:
            self.stalled.add(chat)
            return None
        return configured, chat_id

    def _record(
        self, chat: str, outcome: str, alerts: Sequence[PendingAlert], via: str = "message"
    ) -> None:
        if outcome != "sent" or chat in self.states:
            # the attempt may have disabled, moved or re-enabled the chat
            state = self.store.chats.state(chat)
            self.states.pop(chat, None)
            if state is not None:
                self.states[chat] = state
        if outcome == "sent":
            self.delivered += len(alerts)
            if self.metrics is not None:
                for pending in alerts:
                    due = pending.due_at or pending.created_at
                    self.metrics.delivered(chat, via, 1, time.time() - due.timestamp())
        elif outcome == "wait":
            self.stalled.add(chat)  # later alerts of this chat must not overtake this one

    async def run(
        self,
        due: Sequence[PendingAlert],
        rules: Mapping[str, ChatRules],
        topic_digests: Mapping[str, timedelta | None],
    ) -> dict[str, list[tuple[PendingAlert, StoryAlert | None, bool]]]:
        """Send what goes out now, mute or hold the rest; return the digests due, per chat."""
        muted = self.store.mutes.in_force(self.now)
        silenced: list[int] = []
        holds: dict[datetime, list[int]] = {}
        digests: dict[str, list[tuple[PendingAlert, StoryAlert | None, bool]]] = {}
        notifying: dict[str, list[PendingAlert]] = {}  # per chat, to send now or as a burst
        for pending in due:
            if time.monotonic() > self.deadline:
                break
            chat = pending.alert.chat
            if chat in self.stalled:
                continue
            if chat in muted and set(pending.alert.topics) <= set(muted[chat]):
                silenced.append(pending.id)  # /mute: every topic it matched is muted here
                continue
            root = _story_root(self.store, pending)
            chat_rules = rules.get(chat, ChatRules())
            interval = digest_interval(chat_rules, pending.alert.topics, topic_digests)
            silent = pending.kind == "same" and root is not None and root.via != "digest"
            decided = plan(chat_rules, interval, pending.created_at, self.now, silent)
            if decided.action == "hold" and decided.until is not None:
                holds.setdefault(decided.until, []).append(pending.id)
            elif decided.action == "digest":
                digests.setdefault(chat, []).append((pending, root, decided.quiet))
            elif silent:
                await self.send(pending, root)  # an edit: Telegram does not notify it
            else:
                notifying.setdefault(chat, []).append(pending)
        self._put_aside(silenced, holds)
        for chat, alerts in notifying.items():
            await self._notify(chat, alerts, rules.get(chat, ChatRules()))
        return digests

    def _put_aside(self, muted: Sequence[int], holds: Mapping[datetime, Sequence[int]]) -> None:
        """Record alerts muted in their chat, and alerts held for later (quiet hours, digests)."""
        if muted:
            self.store.outbox.mark_muted(muted)
        for until, ids in holds.items():
            self.store.outbox.hold(ids, until)

    async def _notify(self, chat: str, alerts: Sequence[PendingAlert], rules: ChatRules) -> None:
        """Send a chat's notifying alerts one by one, or as one group when they are a burst."""
        due = [pending.due_at or pending.created_at for pending in alerts]
        if is_burst(rules, due, self.now):
            batch = [(pending, _story_root(self.store, pending), False) for pending in alerts]
            heading = group_heading(len(batch), min(due))
            await self.send_grouped(chat, batch, heading, via="group")
            return
        for pending in alerts:
            if chat in self.stalled or time.monotonic() > self.deadline:
                return
            # looked up now: an earlier alert of this round may have opened its story
            await self.send(pending, _story_root(self.store, pending))

    async def send(self, pending: PendingAlert, root: StoryAlert | None) -> None:
        """Deliver one alert on its own (a message, a reply, or an edit of its story)."""
        chat = pending.alert.chat
        target = self._target(chat, pending.alert.chat_id)
        if target is None:
            return

        async def deliver(chat_id: str) -> str | None:
            return await deliver_one(self.store, self.sink, pending, root, chat_id)

        attempt = self._attempt(chat, (pending.id,), pending.attempts)
        outcome = await attempt.run(deliver, target, self.states.get(chat), self.now)
        self._record(chat, outcome, [pending])

    def _attempt(self, chat: str, ids: Sequence[int], attempts: int) -> Attempt:
        return Attempt(self.store, chat, ids, attempts, self.ledger, self.metrics)

    async def send_digest(
        self, chat: str, batch: Sequence[tuple[PendingAlert, StoryAlert | None, bool]]
    ) -> None:
        """Deliver a chat's due digest alerts as few messages as fit, each recorded as sent."""
        quiet = all(held_quietly for _, _, held_quietly in batch)
        since = min(pending.created_at for pending, _, _ in batch)
        await self.send_grouped(chat, batch, digest_heading(len(batch), since, quiet), "digest")

    async def send_grouped(
        self,
        chat: str,
        batch: Sequence[tuple[PendingAlert, StoryAlert | None, bool]],
        heading: str,
        via: str,
    ) -> None:
        """Deliver alerts as few numbered messages as fit, notifying with the first only."""
        target = self._target(chat, batch[0][0].alert.chat_id)
        if target is None:
            return
        by_id = {pending.id: pending for pending, _, _ in batch}
        for index, part in enumerate(digest_parts(digest_items(batch), heading)):

            async def deliver(
                chat_id: str, part: DigestPart = part, notify: bool = index == 0
            ) -> str | None:
                return await self.sink.send_digest(part, chat_id, notify=notify)

            tries = max(by_id[i].attempts for i in part.ids)
            attempt = self._attempt(chat, part.ids, tries)
            layout = json.dumps({"title": part.title, "first": part.first}, ensure_ascii=False)
            outcome = await attempt.run(
                deliver, target, self.states.get(chat), self.now, via=via, part=layout
            )
            self._record(chat, outcome, [by_id[i] for i in part.ids], via=via)
            if outcome != "sent":
                return


def _chat_id(store: Store, state: ChatState | None, configured: str, now: datetime) -> str | None:
    """Return where to send for a chat, following a migration; None while it is blocked."""
    if state is None:
        return configured
    if state.chat_id != configured:  # the operator changed the id: start afresh
        store.chats.forget(state.name)
        return configured
    if state.disabled_at is not None and now - state.disabled_at < BLOCKED_RECHECK:
        return None
    return state.moved_to or configured
