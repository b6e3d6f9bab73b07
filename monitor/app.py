"""Build and own the long-lived resources; run one round or the service; stop gracefully."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import tempfile
import time
from collections.abc import Coroutine, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from monitor.config import (
    Config,
    FeedConfig,
    Settings,
    config_signature,
    load_config,
    telegram_problems,
)
from monitor.deliver import ConsoleSink, Ledger, Sink, deliver_pending
from monitor.errors import ConfigError, DeliveryError, MonitorError, StoreUnavailable
from monitor.fetch import HostGate, make_client
from monitor.match import Matcher
from monitor.metrics import Metrics
from monitor.outages import Outage
from monitor.pipeline import Deps, PollResult, poll_feed
from monitor.specifics import specifics
from monitor.status import heartbeat_health
from monitor.store import FeedState, Store, StoredArticle
from monitor.stories import StoryIndex, shingle_signature
from monitor.web import ProbeServer
from monitor.workers import WorkerPool

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from monitor.bot import CommandBot

logger = logging.getLogger(__name__)

WORKERS = 2
# Polls running at once: enough to keep the network and both workers busy, few enough that a
# burst (thousands of feeds due together) queues instead of running into its timeouts.
POLLS_IN_FLIGHT = 16
# Recycle workers now and then: trafilatura and its dependencies keep module-level caches.
TASKS_PER_WORKER = 200
DELIVER_EVERY_SECONDS = 5.0
# The heartbeat is a job of its own: a long delivery round or poll never delays it, so a stale
# heartbeat means the loop, the scheduler or the database is stuck (`monitor health`). It is
# written this often, and every second while the database refuses writes.
HEARTBEAT_SECONDS = 5.0
# The delivery and bot leaders renew their lease every delivery tick; another replica takes
# over this long after a leader stops renewing.
LEADER_LEASE_SECONDS = 30.0
# The replica id of the last run on this state directory (to take over its leases if it died).
PREDECESSOR_FILE = "replica-id"
# `monitor once` waits for failed alerts whose retry falls due within this many seconds.
ONCE_RETRY_WAIT = 60.0
# How often config/ is checked for edits (a stat of three files).
CONFIG_CHECK_SECONDS = 2.0
WORKER_MODULES = ("monitor.parse", "monitor.extract")  # imported when a worker starts
STOP_TIMEOUT_SECONDS = 10.0
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
        self.stories = StoryIndex(window=timedelta(hours=settings.story_hours))
        self.metrics = Metrics(outbox=self.store.outbox.counts)
        self.probes: ProbeServer | None = None
        self.bot: CommandBot | None = None
        self._leases: dict[str, datetime] = {}  # leases this replica holds, until when
        self._retries: dict[str, asyncio.TimerHandle] = {}  # feeds to look at again
        self._polls = asyncio.Semaphore(POLLS_IN_FLIGHT)
        self._stopping = False
        self._scheduler: AsyncIOScheduler | None = None
        self._config_seen: tuple[tuple[str, int, int] | None, ...] = ()
        self._maintained_at: datetime | None = None
        self.deps = Deps(
            http=make_client(settings.user_agent, settings.http_timeout),
            gate=HostGate(settings.host_connections, settings.host_delay),
            store=self.store,
            pool=self.pool,
            settings=settings,
            topics=config.topics,
            matcher=Matcher(config.topics),
            chats=config.chats,
            stories=self.stories,
            metrics=self.metrics,
            sync_stories=self._sync_stories,
        )
        self._story_cursor = 0  # the last entry id loaded into the story index
        self._tasks: set[asyncio.Task[object]] = set()
        # Two overlapping rounds would read the same pending alerts and send them twice.
        self._delivering = asyncio.Lock()
        self._delivery: asyncio.Task[None] | None = None  # the round started without waiting
        # sends not yet recorded; the availability of where alerts go
        self.ledger = Ledger("Telegram Bot API" if settings.telegram_token else "alerts.jsonl")
        self.database = Outage("database", "polls and deliveries wait")
        self._beaten_at: datetime | None = None

    def _make_sink(self) -> Sink:
        if self.settings.telegram_token:
            # Imported here: python-telegram-bot is only needed with a token.
            from monitor.telegram_sink import Pacer, TelegramSink

            pacer = Pacer(self.settings.private_interval, self.settings.group_interval)
            # The buttons need the bot to receive their taps: only with commands on.
            feedback = self._wants_buttons if self.settings.bot_commands else None
            return TelegramSink(
                self.settings.telegram_token, self.settings.telegram_api_url, pacer, feedback
            )
        return ConsoleSink(self.settings.state_dir / "alerts.jsonl")

    def _wants_buttons(self, chat: str) -> bool:
        rules = self.config.chat_rules.get(chat)
        return rules.feedback if rules is not None else True

    async def __aenter__(self) -> App:
        self._take_over_from_dead_predecessors()
        await self.sink.start()
        self._load_stories(datetime.now(UTC))
        return self

    def _take_over_from_dead_predecessors(self) -> None:
        """Release the claims and leases of the earlier run of this service that died.

        A restart gets a new default replica id (hostname-pid): without this it would wait for
        its own dead predecessor's delivery lease and feed claims to expire. Only the run
        recorded in this state directory counts, and only when its process is gone on this
        host: another replica, even one on a host of the same name, is never touched.
        """
        me = self.settings.replica_id
        marker = self.settings.state_dir / PREDECESSOR_FILE
        try:
            previous = marker.read_text(encoding="utf-8").strip()
        except OSError:
            previous = ""
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(me + "\n", encoding="utf-8")
        except OSError as exc:
            logger.warning("cannot record this run in %s: %s", marker, exc.strerror)
        owners = self.store.leases.owners() & {previous}
        for owner in sorted(dead_local_owners(owners, me)):
            self.store.leases.release_all(owner)
            logger.info(
                "released the leases of %s, an earlier run on this host that is gone", owner
            )

    def _load_stories(self, now: datetime) -> None:
        """Rebuild the story index from the articles stored within its window."""
        for stored in self.store.articles.stored(now - self.stories.window):
            self._story_cursor = max(self._story_cursor, stored.id)
            index_stored(self.stories, stored)
        if len(self.stories):
            logger.info("story index: %d alerted articles in the window", len(self.stories))

    def _sync_stories(self) -> None:
        """Load the articles other replicas stored since the last look into the story index.

        Called under the store's story lock, so every replica places an article knowing every
        article placed before it. With SQLite there is one replica and nothing to load.
        """
        if self.store.engine.dialect.name == "sqlite":
            return
        window = datetime.now(UTC) - self.stories.window
        for stored in self.store.articles.stored(window, after_id=self._story_cursor):
            self._story_cursor = stored.id
            if stored.id in self.deps.recorded:
                self.deps.recorded.discard(stored.id)  # ours: already in the index
                continue
            index_stored(self.stories, stored)

    def maintain(self, now: datetime) -> None:
        """Hourly: drop stories and seen keys that fell out of their windows."""
        if self._maintained_at is not None and now - self._maintained_at < MAINTAIN_EVERY:
            return
        self._maintained_at = now
        self.stories.expire(now)
        forgotten = self.store.entries.forget_keys(now - timedelta(days=self.settings.seen_days))
        if forgotten:
            logger.info(
                "forgot %d identity keys older than %g days", forgotten, self.settings.seen_days
            )

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

    async def poll(
        self, feed: FeedConfig, states: Mapping[str, FeedState] | None = None
    ) -> PollResult:
        """Poll one feed now, whatever its schedule says (`states`: every feed's, if read)."""
        return await poll_feed(feed, self.deps, datetime.now(UTC), states)

    async def poll_if_due(self, feed: FeedConfig) -> None:
        """Poll one feed unless it is backing off, waiting out Retry-After, or gone, or
        another replica has just polled it or is polling it now.

        At most POLLS_IN_FLIGHT polls run at once; the rest wait before claiming, so an
        overloaded replica leaves feeds to the others instead of timing out on all of them.
        """
        async with self._polls:
            await self._poll_if_due(feed)

    async def _poll_if_due(self, feed: FeedConfig) -> None:
        now = datetime.now(UTC)
        lease = timedelta(seconds=max(self.settings.feed_lease, 3 * self.settings.fetch_deadline))
        me = self.settings.replica_id
        # The claim is also the due check: a feed backing off or not due yet is not claimed.
        claimed = self.store.feeds.claim(feed.name, feed.url, me, now, now + lease)
        if claimed is not None:
            await poll_feed(feed, self.deps, now, {feed.name: claimed})
            return
        state = self.store.feeds.state(feed.name)
        if state is not None and state.lease_until is not None and state.lease_owner != me:
            # Another replica is polling it, or died doing so: look again when its claim ends.
            self._look_again(feed, (state.lease_until - now).total_seconds() + 1)

    def _look_again(self, feed: FeedConfig, seconds: float) -> None:
        """Try `feed` again in `seconds` (once; later calls for the same feed are dropped)."""
        if feed.name in self._retries:
            return

        def fire() -> None:
            self._retries.pop(feed.name, None)
            task = asyncio.ensure_future(self._tracked_poll(feed))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        self._retries[feed.name] = asyncio.get_running_loop().call_later(max(seconds, 0.1), fire)

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
        try:
            await self._drain(time.monotonic() + (deliver_for or math.inf))
        finally:
            self.store.leases.release_all(self.settings.replica_id)  # another may deliver at once
            self._leases.clear()
        return list(results)

    async def _drain(self, deadline: float) -> None:
        stuck = 0
        while time.monotonic() < deadline:
            now = datetime.now(UTC)
            if not self._lead("delivery", now):  # another replica delivers: let it
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
        if self.database.down:  # reads may still work: a refused write decides
            return False, {
                "reason": f"the database refuses writes: {self.database.reason}",
                "database": "unavailable",
                "unavailable_seconds": round(self.database.seconds_down()),
            }
        healthy, reason, age = heartbeat_health(
            self.store, self.settings.health_max_age, datetime.now(UTC)
        )
        return healthy, {"reason": reason, "heartbeat_age_seconds": age, "database": "ok"}

    def _beat(self, now: datetime) -> None:
        """Write the heartbeat: a write every few seconds tells whether the database takes
        them, so health follows an outage and its end within one tick."""
        self._beaten_at = now
        try:
            self.store.heartbeats.beat(now)
        except StoreUnavailable as exc:
            self.database.failed(exc.reason)
            return
        self.database.ok()
        self.metrics.beat(now.timestamp())

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
            await self._serve(stop)
        finally:
            await self._stop_bot()
            if self.probes is not None:
                self.probes.stop()
            try:
                self.store.leases.release_all(self.settings.replica_id)
            except StoreUnavailable as exc:  # they lapse on their own, or at our next start
                logger.warning("feed claims not released: %s", exc)

    async def _start_bot(self) -> None:
        """Answer analysts' commands when a token is set (MONITOR_BOT_COMMANDS)."""
        # Imported here: only a service with a token answers commands.
        from monitor.telegram_sink import TelegramSink

        if not self.settings.bot_commands or not isinstance(self.sink, TelegramSink):
            return
        from monitor.bot import CommandBot
        from monitor.chats import ChatDirectory
        from monitor.commands import Desk

        bot = CommandBot(
            self.settings.telegram_token,
            self.settings.telegram_api_url,
            Desk(self.store, lambda: self.config, lambda why: self.reload(why, notify=False)),
            ChatDirectory(lambda: self.config, self.store),
            self.sink,
            telegram=self.ledger.destination,
            metrics=self.metrics,
        )
        try:
            await bot.start()
        except DeliveryError as exc:  # alerts matter more than commands: carry on without
            logger.error("%s; alerts are still delivered, commands are not answered", exc)
            return
        self.bot = bot

    async def _serve(self, stop: asyncio.Event) -> None:
        from monitor.schedule import build_scheduler  # APScheduler: only the service needs it

        self._config_seen = config_signature(self.settings.config_dir)
        scheduler = build_scheduler(
            self.config.feeds,
            self._tracked_poll,
            [
                ("deliver", self._tracked_deliver, DELIVER_EVERY_SECONDS),
                ("watch config", self._watch_config, CONFIG_CHECK_SECONDS),
                ("heartbeat", self._heartbeat, 1.0),
            ],
            datetime.now(UTC),
        )
        self._scheduler = scheduler
        scheduler.start()
        logger.info(
            "monitoring %d feeds for %d topics",
            sum(1 for feed in self.config.feeds if feed.enabled),
            len(self.config.topics),
        )
        await stop.wait()
        self._stopping = True
        logger.info("stopping: letting in-flight polls finish")
        # Commands stop at once, beside the polls winding down: a stop never waits on a search.
        bot_stopped = asyncio.ensure_future(self._stop_bot())
        scheduler.pause()
        for handle in self._retries.values():
            handle.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=STOP_TIMEOUT_SECONDS)
        scheduler.shutdown(wait=False)
        # Whatever is still pending stays in the outbox and goes out on the next start.
        if self._leases.get("delivery", datetime.min.replace(tzinfo=UTC)) > datetime.now(UTC):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._track(self.deliver(), "delivery round"), STOP_TIMEOUT_SECONDS / 2
                )
        if self.ledger.unrecorded:
            logger.warning(
                "%d sends could not be recorded before stopping; those alerts may be sent "
                "again after the restart",
                len(self.ledger.unrecorded),
            )
        await bot_stopped

    async def _stop_bot(self) -> None:
        bot, self.bot = self.bot, None
        if bot is not None:
            await bot.stop()

    async def reload(self, reason: str, notify: bool = True) -> tuple[bool, str]:
        """Read config/ again and apply it without a restart; keep the last good one if invalid.

        Feeds are added, dropped and rescheduled, topics recompiled, chats updated. Settings
        from the environment are not reloaded.
        """
        try:
            config = load_config(self.settings.config_dir)
            if self.settings.telegram_token and (problems := telegram_problems(config)):
                raise ConfigError(problems)
        except ConfigError as exc:
            self.metrics.reloaded(ok=False)
            logger.error(
                "config reload (%s) refused, keeping the last good config: %s",
                reason,
                "; ".join(exc.problems),
            )
            listed = "\n".join(exc.problems[:20])
            if notify:
                await self._notify_operators(
                    "Configuration change refused; the last good configuration stays in force:\n"
                    + listed
                )
            return False, listed
        changes = self._apply(config)
        self.metrics.reloaded(ok=True)
        logger.info("config reloaded (%s): %s", reason, changes)
        if notify:
            await self._notify_operators(f"Configuration reloaded: {changes}.")
        return True, changes

    def request_reload(self, reason: str) -> None:
        """Reload soon, from a signal handler (SIGHUP)."""
        task = asyncio.ensure_future(self.reload(reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _apply(self, config: Config) -> str:
        """Switch to `config`; return a summary of what changed."""
        old = self.config
        self.config = config
        self.deps = replace(
            self.deps, topics=config.topics, matcher=Matcher(config.topics), chats=config.chats
        )
        summary = []
        if self._scheduler is not None:
            from monitor.schedule import sync_feed_jobs

            added, removed, changed = sync_feed_jobs(
                self._scheduler, config.feeds, self._tracked_poll, datetime.now(UTC)
            )
            for label, names in (("added", added), ("removed", removed), ("changed", changed)):
                if names:
                    summary.append(f"feeds {label}: {', '.join(names)}")
        before = {topic.name for topic in old.topics}
        after = {topic.name for topic in config.topics}
        if after - before:
            summary.append(f"topics added: {', '.join(sorted(after - before))}")
        if before - after:
            summary.append(f"topics removed: {', '.join(sorted(before - after))}")
        summary.append(f"{len(config.feeds)} feeds, {len(config.topics)} topics")
        return "; ".join(summary)

    async def _watch_config(self) -> None:
        """Reload when a file in config/ changed since the last look."""
        seen = config_signature(self.settings.config_dir)
        if seen != self._config_seen:
            self._config_seen = seen
            await self.reload("files changed")

    async def _notify_operators(self, text: str) -> None:
        """Tell the chats marked `operator: true`; a failure is logged, never raised."""
        for name in self.config.operators:
            chat_id = self.config.chats.get(name)
            if chat_id is None:
                continue
            try:
                await self.sink.notice(text, chat_id)
            except DeliveryError as exc:
                logger.warning("could not tell operator chat %s: %s", name, exc)

    async def _tracked_poll(self, feed: FeedConfig) -> None:
        await self._track(self.poll_if_due(feed), "poll")
        self._deliver_soon()

    async def _heartbeat(self) -> None:
        """Beat every few seconds, and every second while the database refuses writes, so
        health follows an outage and its end quickly; never behind a round stuck on Telegram.
        """
        if self._stopping:
            return
        now = datetime.now(UTC)
        last = self._beaten_at
        if self.database.down or last is None or now - last >= timedelta(seconds=HEARTBEAT_SECONDS):
            self._beat(now)

    async def _tracked_deliver(self) -> None:
        now = datetime.now(UTC)
        self._deliver_soon()
        await self._track(self._follow_bot_lease(now), "bot lease renewal")
        await self._track(self._maintain_now(), "maintenance")

    async def _maintain_now(self) -> None:
        self.maintain(datetime.now(UTC))

    def _deliver_soon(self) -> None:
        """Start a delivery round unless one is running; never wait for it.

        Polls and the heartbeat go on while a round waits on Telegram; the final round at
        stop runs in `_serve`.
        """
        if self._stopping or (self._delivery is not None and not self._delivery.done()):
            return
        self._delivery = asyncio.ensure_future(
            self._track(self._deliver_if_leader(), "delivery round")
        )

    async def _deliver_if_leader(self) -> None:
        if self._lead("delivery", datetime.now(UTC)):  # renewed, so it cannot lapse mid-round
            await self.deliver()

    def _lead(self, name: str, now: datetime) -> bool:
        """Take or renew the lease `name`: one replica delivers, one answers the bot.

        A lease with more than half its time left is not renewed again: every poll asks before
        delivering, and a database write per poll would buy nothing (a round stops starting
        sends after half a lease).
        """
        held_until = self._leases.get(name)
        if held_until is not None and held_until - now > timedelta(
            seconds=LEADER_LEASE_SECONDS / 2
        ):
            return True
        until = now + timedelta(seconds=LEADER_LEASE_SECONDS)
        if self.store.leases.acquire(name, self.settings.replica_id, now, until):
            self._leases[name] = until
            return True
        self._leases.pop(name, None)
        return False

    async def _follow_bot_lease(self, now: datetime) -> None:
        """Run the command bot while this replica holds the bot lease, stop it when lost."""
        if not self.settings.telegram_token or not self.settings.bot_commands or self._stopping:
            return
        held = self._lead("bot", now)
        if held and self.bot is None:
            await self._start_bot()
        elif not held and self.bot is not None:
            logger.warning("another replica answers bot commands now")
            await self._stop_bot()

    async def _track(self, work: Coroutine[Any, Any, object], what: str) -> None:
        """Run `work` so that a stop waits for it; an outage of the database defers it.

        `what` names the work for the outage summary ("poll", "delivery round").
        """
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        try:
            await asyncio.shield(task)
        except StoreUnavailable as exc:  # an expected outage: one calm line, not a traceback
            self.database.failed(exc.reason, deferred=what)
        except Exception:  # a bug: say so with its traceback, and keep the service running
            logger.exception("%s failed with an internal error", what)
        except asyncio.CancelledError:
            # At shutdown the scheduler cancels the job waiting here; the shielded work goes
            # on and _serve waits for it. Any other cancellation is passed on.
            if not self._stopping:
                raise
        finally:
            self._tasks.discard(task)


def index_stored(stories: StoryIndex, stored: StoredArticle) -> None:
    """Count a stored article's words and, if it belongs to a story, add it to that story."""
    found = specifics(stored.title, stored.text)
    stories.observe(found.terms | found.extra, stored.seen_at)
    if stored.story is not None:  # the first stored member of a story is its first report
        signature = shingle_signature(f"{stored.title}\n{stored.text}")
        key = f"entry:{stored.id}"
        stories.add(key, stored.story, found, signature, stored.seen_at, stored.title)


def story_index(store: Store, window: timedelta, now: datetime) -> StoryIndex:
    """Build the story index of the articles stored within `window` before `now`."""
    stories = StoryIndex(window=window)
    for stored in store.articles.stored(now - window):
        index_stored(stories, stored)
    return stories


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


def dead_local_owners(owners: Iterable[str], me: str) -> set[str]:
    """Return the owners that are default replica ids (hostname-pid) of dead processes here."""
    host = socket.gethostname()
    dead = set()
    for owner in owners:
        name, _, pid = owner.rpartition("-")
        if owner == me or name != host or not pid.isdigit():
            continue
        if not _running(int(pid)):
            dead.add(owner)
    return dead


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError, ValueError):  # gone, or no pid of this system
        return False
    except PermissionError:
        return True  # someone else's process
    return True
