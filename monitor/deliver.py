"""Deliver alerts: which go out now, as what (a message, a reply, an edit, a group, a digest),
and the record of each attempt; the console sink. The Telegram sink is `telegram_sink.py`."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, Protocol, TextIO

from monitor.digest import ChatRules, digest_interval, is_burst, plan
from monitor.errors import ChatBlocked, ChatMoved, DeliveryError, StoreUnavailable
from monitor.metrics import Metrics
from monitor.models import Alert
from monitor.outages import Outage
from monitor.render import (
    DigestItem,
    DigestPart,
    digest_heading,
    digest_parts,
    group_heading,
    grouped_items,
    relaid_part,
    render_text,
    sources_text,
)
from monitor.store import ChatState, MessageAlert, PendingAlert, Store, StoryAlert

logger = logging.getLogger(__name__)

# A retryable failure waits 5 s, doubling per attempt, at most this long.
MAX_RETRY_DELAY = timedelta(minutes=10)
# While Telegram itself is away, a chat's next try is at most this far off, so delivery resumes
# soon after it is back (one cheap request per chat and interval meanwhile).
OUTAGE_RETRY_DELAY = timedelta(seconds=30)
# A chat that blocked the bot is tried again after this long, in case it was unblocked.
BLOCKED_RECHECK = timedelta(hours=24)


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
            store.mark_sent(ids, message_id, when, via=via, part=part)
            self.unrecorded.pop(0)
            logger.warning("alerts %s: their earlier send is recorded now", _ids(ids))


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
    expired = store.expire_pending(now - dead_after)
    if expired:
        logger.error(
            "%d alerts undelivered for %s are now dead (see monitor status)", expired, dead_after
        )
    round_ = _Round(store, sink, now, chats, metrics, ledger)
    if budget is not None:
        round_.deadline = time.monotonic() + budget
    digests = await round_.run(store.pending_alerts(now), rules or {}, topic_digests or {})
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
    earlier = store.story_alerts(pending.alert.chat, story, before=pending.id)
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
        self.states = {state.name: state for state in store.chat_states()}
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
            state = self.store.chat_state(chat)
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
        muted = self.store.mutes(self.now)
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
            self.store.mark_muted(muted)
        for until, ids in holds.items():
            self.store.hold(ids, until)

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
            return await _deliver_one(self.store, self.sink, pending, root, chat_id)

        attempt = self._attempt(chat, (pending.id,), pending.attempts)
        outcome = await attempt.run(deliver, target, self.states.get(chat), self.now)
        self._record(chat, outcome, [pending])

    def _attempt(self, chat: str, ids: Sequence[int], attempts: int) -> _Attempt:
        return _Attempt(self.store, chat, ids, attempts, self.ledger, self.metrics)

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
        for index, part in enumerate(digest_parts(_digest_items(batch), heading)):

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


def _digest_items(
    batch: Sequence[tuple[PendingAlert, StoryAlert | None, bool]],
) -> list[DigestItem]:
    """Lay out a digest: one item per report, other outlets' same report listed under it.

    A follow-up (a new development) is an item of its own; a report of a story the chat was
    told about before, with nothing else of that story here, is a short "More on" item.
    """
    items: list[DigestItem] = []
    lead_of: dict[str, int] = {}  # story -> index of its first item in this digest
    for pending, root, _ in batch:
        story = pending.story
        if pending.kind == "same" and story is not None and story in lead_of:
            index = lead_of[story]
            lead = items[index]
            items[index] = replace(
                lead, sources=(pending.alert, *lead.sources), ids=(*lead.ids, pending.id)
            )
            continue
        if story is not None:
            lead_of.setdefault(story, len(items))
        items.append(
            DigestItem(
                alert=pending.alert,
                ids=(pending.id,),
                followup=pending.kind == "followup",
                update=pending.kind == "same" and root is not None,
            )
        )
    return items


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


class _Attempt:
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
            store.claim_attempt(self.ids, now)  # StoreUnavailable: nothing is sent
            try:
                message_id = await deliver(chat_id)
            except ChatMoved as exc:
                logger.warning("%s; sending there from now on (update chats.yaml)", exc)
                store.chat_moved(chat, configured, exc.new_chat_id)
                chat_id = exc.new_chat_id
                continue
            except ChatBlocked as exc:
                logger.error("%s; chat disabled, its alerts wait (retrying daily)", exc)
                store.chat_disabled(chat, configured, str(exc), now)
                store.mark_attempt_failed(self.ids, str(exc), now + BLOCKED_RECHECK)
                return "wait"
            except DeliveryError as exc:
                self._failed(exc, now)
                return "dead" if exc.permanent else "wait"
            self.ledger.destination.ok()
            try:
                if state is not None and state.disabled_at is not None:
                    store.chat_enabled(chat)
                    logger.warning("chat %s accepts messages again", chat)
                store.mark_sent(self.ids, message_id, now, via=via, part=part)
            except StoreUnavailable:
                self.ledger.sent(self.ids, message_id, now, via, part)  # recorded first next time
                raise
            return "sent"
        store.mark_attempt_failed(self.ids, "chat kept moving", now + retry_delay(self.attempts))
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
        self.store.mark_attempt_failed(self.ids, str(exc), retry_at, ambiguous=exc.ambiguous)


async def _edit_group(
    store: Store, sink: Sink, pending: PendingAlert, message_id: str, chat_id: str
) -> str | None:
    """Add a report to the grouped message its story went out in, under that story's item.

    The message is laid out again from the alerts it carries, with its own title and item
    numbers; when it would no longer fit, the report is sent as a reply to it instead.
    """
    members = store.message_alerts(pending.alert.chat, message_id)
    layout = next((m.part for m in members if m.part), None)
    items = _group_items(members, pending)
    part = None
    if layout is not None:
        found = json.loads(layout)
        part = relaid_part(items, str(found["title"]), int(found["first"]))
    if part is None:
        return await sink.send(pending.alert, chat_id, reply_to=message_id)
    await sink.edit_digest(message_id, part, chat_id)
    return message_id


def _group_items(members: Sequence[MessageAlert], pending: PendingAlert) -> list[DigestItem]:
    """The items of a grouped message, with `pending` listed under its story's item."""
    reports = [(m.id, m.alert, m.story, m.kind) for m in members]
    return grouped_items([*reports, (pending.id, pending.alert, pending.story, "same")])


def _ids(ids: Sequence[int]) -> str:
    return ", ".join(str(i) for i in ids[:5]) + (" …" if len(ids) > 5 else "")


async def _deliver_one(
    store: Store, sink: Sink, pending: PendingAlert, root: StoryAlert | None, chat_id: str
) -> str | None:
    """Send the alert, or edit its story's message when it is the same report again.

    A story whose first alert went out in a digest is not edited (that message is the digest);
    its later reports are sent as messages of their own.
    """
    alert = pending.alert
    if pending.story is None or root is None or root.message_id is None:
        return await sink.send(alert, chat_id)  # new, or this chat has not seen the story yet
    if root.via == "digest":
        return await sink.send(alert, chat_id)
    if pending.kind == "followup":
        return await sink.send(alert, chat_id, reply_to=root.message_id)
    if root.via == "group":
        return await _edit_group(store, sink, pending, root.message_id, chat_id)
    earlier = store.story_alerts(alert.chat, pending.story, before=pending.id)
    sources = [
        a.alert
        for a in reversed(earlier)
        if a.id != root.id and a.kind == "same" and a.message_id == root.message_id
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
