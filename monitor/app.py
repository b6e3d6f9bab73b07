"""Build and own the long-lived resources; run one round or the service; stop gracefully.

The parts live beside: `service.py` runs the loop of `monitor run`, `replicas.py` coordinates
replicas sharing a database (feed claims, leader leases), `reload.py` applies edits to
config/, `story_loading.py` fills the story index, `liveness.py` writes the heartbeat.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from monitor.config import Config, FeedConfig, Settings
from monitor.deliver import ConsoleSink, Ledger, Sink, deliver_pending
from monitor.errors import MonitorError, StoreUnavailable
from monitor.fetch import HostGate, make_client
from monitor.liveness import Heartbeat
from monitor.match import Matcher
from monitor.metrics import Metrics
from monitor.pipeline import Deps, PollResult, poll_feed
from monitor.reload import Reloader
from monitor.replicas import LEADER_LEASE_SECONDS, Replica
from monitor.service import Service
from monitor.store import FeedState, Store
from monitor.stories import StoryIndex
from monitor.story_loading import StoryLoader
from monitor.unchanged import UnchangedPolls
from monitor.web import ProbeServer
from monitor.workers import WorkerPool

if TYPE_CHECKING:
    from monitor.bot import CommandBot

logger = logging.getLogger(__name__)

WORKERS = 2
# Recycle workers now and then: trafilatura and its dependencies keep module-level caches.
TASKS_PER_WORKER = 200
# `monitor once` waits for failed alerts whose retry falls due within this many seconds.
ONCE_RETRY_WAIT = 60.0
WORKER_MODULES = ("monitor.parse", "monitor.extract")  # imported when a worker starts
MAINTAIN_EVERY = timedelta(hours=1)


class App:
    """The running service: database, HTTP client, worker pool, sink, and what they serve."""

    def __init__(self, settings: Settings, config: Config) -> None:
        check_state_dir(settings.state_dir)
        self.settings = settings
        self.config = config
        self.store = Store.open(settings.database_url)
        self.sink: Sink = self._make_sink()
        self.pool = WorkerPool(WORKERS, TASKS_PER_WORKER, preload=WORKER_MODULES)
        self.metrics = Metrics(outbox=self.store.outbox.counts)
        self.probes: ProbeServer | None = None
        self.replica = Replica(self.store, settings)
        self.heartbeat = Heartbeat(self.store, self.metrics, settings.health_max_age)
        self._stories: StoryIndex | None = None  # read from the store when first needed
        self._story_loader: StoryLoader | None = None
        self.deps = Deps(
            http=make_client(settings.user_agent, settings.http_timeout),
            gate=HostGate(settings.host_connections, settings.host_delay),
            store=self.store,
            pool=self.pool,
            settings=settings,
            topics=config.topics,
            matcher=Matcher(config.topics),
            chats=config.chats,
            stories=self._story_index,
            metrics=self.metrics,
            sync_stories=self._sync_stories,
            recorded=set(),  # entries this process stored: already in the story index
            unchanged=UnchangedPolls(self.store.feeds, self._unchanged_refused),
        )
        # Two overlapping rounds would read the same pending alerts and send them twice.
        self._delivering = asyncio.Lock()
        # sends not yet recorded; the availability of where alerts go
        self.ledger = Ledger("Telegram Bot API" if settings.telegram_token else "alerts.jsonl")
        self.reloader = Reloader(
            settings, lambda: self.config, self._apply, self.sink, self.metrics
        )
        self.service = Service(self)
        self._maintained_at: datetime | None = None

    def _make_sink(self) -> Sink:
        if self.settings.telegram_token:
            # Imported here: python-telegram-bot is only needed with a token.
            from monitor.pacer import Pacer
            from monitor.telegram_sink import TelegramSink

            pacer = Pacer(self.settings.private_interval, self.settings.group_interval)
            # The buttons need the bot to receive their taps: only with commands on.
            feedback = self._wants_buttons if self.settings.bot_commands else None
            return TelegramSink(
                self.settings.telegram_token, self.settings.telegram_api_url, pacer, feedback
            )
        return ConsoleSink(self.settings.state_dir / "alerts.jsonl")

    def _story_index(self) -> StoryIndex:
        """The story index, filled from the stored window when a poll first brings a new item
        to place in it: a round that brings nothing new, as most do, never reads the window."""
        if self._stories is None:
            stories = StoryIndex(window=timedelta(hours=self.settings.story_hours))
            loader = StoryLoader(self.store, stories, self.deps.recorded)
            loader.load(datetime.now(UTC))
            # Kept only once loaded whole: after a failure half-way the next poll starts afresh.
            self._stories, self._story_loader = stories, loader
        return self._stories

    def _sync_stories(self) -> None:
        if self._story_loader is not None:  # else nothing to update: loading reads it all
            self._story_loader.sync()

    def _unchanged_refused(self, exc: StoreUnavailable) -> None:
        # Those feeds keep their old schedule and are polled again: nothing is lost.
        self.heartbeat.database.failed(exc.reason, deferred="recording unchanged polls")

    def flush_unchanged(self) -> None:
        """Record the 304 polls still waiting for their batch."""
        if self.deps.unchanged is not None:
            self.deps.unchanged.flush()

    def _wants_buttons(self, chat: str) -> bool:
        rules = self.config.chat_rules.get(chat)
        return rules.feedback if rules is not None else True

    @property
    def bot(self) -> CommandBot | None:
        """The command bot while this replica answers commands."""
        return self.service.bot.running

    async def __aenter__(self) -> App:
        self.replica.take_over_from_dead_predecessor(self.settings.state_dir)
        await self.sink.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.deps.http.aclose()
        await self.sink.stop()
        self.pool.shutdown()
        self.store.close()

    def maintain(self, now: datetime) -> None:
        """Hourly: drop stories and seen keys that fell out of their windows."""
        if self._maintained_at is not None and now - self._maintained_at < MAINTAIN_EVERY:
            return
        self._maintained_at = now
        if self._stories is not None:
            self._stories.expire(now)
        forgotten = self.store.entries.forget_keys(now - timedelta(days=self.settings.seen_days))
        if forgotten:
            logger.info(
                "forgot %d identity keys older than %g days", forgotten, self.settings.seen_days
            )

    async def poll(
        self, feed: FeedConfig, states: Mapping[str, FeedState] | None = None
    ) -> PollResult:
        """Poll one feed now, whatever its schedule says (`states`: every feed's, if read)."""
        return await poll_feed(feed, self.deps, datetime.now(UTC), states)

    async def poll_if_due(self, feed: FeedConfig) -> None:
        """Poll one feed when it is due and no other replica polls it (see `Service`)."""
        await self.service.poll_if_due(feed)

    async def deliver(self) -> int:
        """Send what the outbox holds."""
        async with self._delivering:
            return await deliver_pending(
                self.store,
                self.sink,
                datetime.now(UTC),
                self.config.chats,
                timedelta(hours=self.settings.dead_after_hours),
                rules=self.config.chat_rules,
                topic_digests={topic.name: topic.digest for topic in self.config.topics},
                metrics=self.metrics,
                budget=LEADER_LEASE_SECONDS / 2,
                ledger=self.ledger,
            )

    async def run_once(self, deliver_for: float | None = None) -> list[PollResult]:
        """Poll every enabled feed once, concurrently, then deliver until the outbox is empty.

        Delivery goes on round after round, paced as always, waiting for retries that fall due
        within `ONCE_RETRY_WAIT`; it stops early only after `deliver_for` seconds, or when
        what is left waits for later (a digest, quiet hours, a chat that cannot take it now).
        """
        feeds = [feed for feed in self.config.feeds if feed.enabled]
        states = {state.name: state for state in self.store.feeds.states()}  # one query for all
        results = await asyncio.gather(*(self.poll(feed, states) for feed in feeds))
        self.flush_unchanged()
        try:
            await self._drain(time.monotonic() + (deliver_for or math.inf))
        finally:
            self.replica.release()  # another may deliver at once
        return list(results)

    async def _drain(self, deadline: float) -> None:
        stuck = 0
        while time.monotonic() < deadline:
            now = datetime.now(UTC)
            if not self.replica.lead("delivery", now):  # another replica delivers: let it
                await asyncio.sleep(min(1.0, max(deadline - time.monotonic(), 0)))
                stuck += 1
                if stuck > LEADER_LEASE_SECONDS:
                    return
                continue
            if self.store.outbox.pending(now, limit=1):
                if await self.deliver() > 0:
                    stuck = 0
                    continue
                stuck += 1
                if stuck > 3:  # due alerts that no round can move: give up, report them
                    return
                continue
            wait = self._next_retry(now)
            if wait is None or wait > ONCE_RETRY_WAIT or time.monotonic() + wait > deadline:
                return
            await asyncio.sleep(wait)

    def _next_retry(self, now: datetime) -> float | None:
        """Seconds until the next retry of a failed alert, if one lies ahead.

        Only future retries count: an alert whose time has passed but that waits behind an
        older one of its chat becomes due when that one does (a past time would spin).
        """
        ahead = [t for chat in self.store.outbox.by_chat() for t in chat.retries if t > now]
        return max((min(ahead) - now).total_seconds(), 0.5) if ahead else None

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Answer /healthz: the database takes writes and the heartbeat is fresh."""
        return self.heartbeat.health()

    def _beat(self, now: datetime) -> None:
        self.heartbeat.beat(now)

    def _start_probes(self) -> None:
        if self.settings.http_listen is None:
            return
        host, port = self.settings.http_listen
        try:
            self.probes = ProbeServer(host, port, self.metrics, self.health)
        except OSError as exc:
            raise MonitorError(
                f"cannot listen on {host}:{port} for /healthz and /metrics "
                f"({exc.strerror}); set MONITOR_HTTP_LISTEN"
            ) from None
        self.probes.start()

    async def serve(self, stop: asyncio.Event) -> None:
        """Poll on schedule and deliver until `stop` is set, then finish in-flight work."""
        self._start_probes()
        try:
            await self.service.serve(stop)
        finally:
            await self.service.bot.stop()
            if self.probes is not None:
                self.probes.stop()
            try:
                self.replica.release()
            except StoreUnavailable as exc:  # they lapse on their own, or at our next start
                logger.warning("feed claims not released: %s", exc)

    async def reload(self, reason: str, notify: bool = True) -> tuple[bool, str]:
        """Read config/ again and apply it without a restart (see `Reloader`)."""
        return await self.reloader.reload(reason, notify)

    def request_reload(self, reason: str) -> None:
        """Reload soon, from a signal handler (SIGHUP)."""
        self.service.spawn(self.reload(reason))

    def request_poll_now(self, reason: str) -> None:
        """Poll every feed now, from a signal handler (SIGUSR1)."""
        self.service.poll_all_now(reason)

    def _apply(self, config: Config) -> list[str]:
        """Switch to `config`: topics, chats and feed jobs; name the feeds that changed."""
        self.config = config
        self.deps = replace(
            self.deps, topics=config.topics, matcher=Matcher(config.topics), chats=config.chats
        )
        return self.service.reschedule(config.feeds)


def check_state_dir(state_dir: Path) -> None:
    """Raise `MonitorError` with the fix when this process cannot write `state_dir`.

    A host directory bind-mounted over the container's /app/state keeps its owner, and
    SQLite's own message ("unable to open database file") names neither the directory nor
    the user. Creating a file is the only test that holds for root, ACLs and read-only mounts.
    """
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=state_dir, prefix=".write-test-"):
            pass
    except OSError as exc:
        uid = os.geteuid()
        raise MonitorError(
            f"cannot write to the state directory {state_dir} as uid {uid} ({exc.strerror}): "
            f"give it to that user (a bind mount: `chown {uid} ./state` on the host) "
            "or use a named volume"
        ) from None
