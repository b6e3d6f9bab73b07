"""The service loop of `monitor run`: polls on each feed's schedule, delivery every few seconds
and after each poll, the heartbeat, config watching, maintenance and the command bot; a stop
lets in-flight work finish."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from monitor.config import FeedConfig
from monitor.errors import DeliveryError, StoreUnavailable
from monitor.pipeline import poll_feed
from monitor.reload import CONFIG_CHECK_SECONDS

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from monitor.app import App
    from monitor.bot import CommandBot

logger = logging.getLogger(__name__)

# Polls running at once: enough to keep the network and both workers busy, few enough that a
# burst (thousands of feeds due together) queues instead of running into its timeouts.
POLLS_IN_FLIGHT = 16
DELIVER_EVERY_SECONDS = 5.0
STOP_TIMEOUT_SECONDS = 10.0


class Service:
    """Runs an `App` as the long-running service: schedules its work and tracks it."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.bot = BotSeat(app)
        self.stopping = False
        self._retries: dict[str, asyncio.TimerHandle] = {}  # feeds to look at again
        self._polling: set[str] = set()  # feeds polled here now (or waiting for a free slot)
        self._polls = asyncio.Semaphore(POLLS_IN_FLIGHT)
        self._scheduler: AsyncIOScheduler | None = None
        self._tasks: set[asyncio.Task[object]] = set()
        self._delivery: asyncio.Task[None] | None = None  # the round started without waiting

    async def serve(self, stop: asyncio.Event) -> None:
        """Poll on schedule and deliver until `stop` is set, then finish in-flight work."""
        from monitor.schedule import build_scheduler  # APScheduler: only the service needs it

        self.app.reloader.remember_files()
        scheduler = build_scheduler(
            self.app.config.feeds,
            self._tracked_poll,
            [
                ("deliver", self._tracked_deliver, DELIVER_EVERY_SECONDS),
                ("watch config", self.app.reloader.watch, CONFIG_CHECK_SECONDS),
                ("heartbeat", self._heartbeat, 1.0),
            ],
            datetime.now(UTC),
        )
        self._scheduler = scheduler
        scheduler.start()
        logger.info(
            "monitoring %d feeds for %d topics",
            sum(1 for feed in self.app.config.feeds if feed.enabled),
            len(self.app.config.topics),
        )
        await stop.wait()
        await self._wind_down(scheduler)

    async def _wind_down(self, scheduler: AsyncIOScheduler) -> None:
        self.stopping = True
        logger.info("stopping: letting in-flight polls finish")
        # Commands stop at once, beside the polls winding down: a stop never waits on a search.
        bot_stopped = asyncio.ensure_future(self.bot.stop())
        scheduler.pause()
        for handle in self._retries.values():
            handle.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=STOP_TIMEOUT_SECONDS)
        scheduler.shutdown(wait=False)
        self.app.flush_unchanged()
        # Whatever is still pending stays in the outbox and goes out on the next start.
        if self.app.replica.holds("delivery", datetime.now(UTC)):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._track(self.app.deliver(), "delivery round"), STOP_TIMEOUT_SECONDS / 2
                )
        if self.app.ledger.unrecorded:
            logger.warning(
                "%d sends could not be recorded before stopping; those alerts may be sent "
                "again after the restart",
                len(self.app.ledger.unrecorded),
            )
        await bot_stopped

    def reschedule(self, feeds: Sequence[FeedConfig]) -> list[str]:
        """Add, drop and reschedule feed jobs for `feeds`; name the feeds that changed."""
        if self._scheduler is None:
            return []
        from monitor.schedule import sync_feed_jobs

        added, removed, changed = sync_feed_jobs(
            self._scheduler, feeds, self._tracked_poll, datetime.now(UTC)
        )
        return [
            f"feeds {label}: {', '.join(names)}"
            for label, names in (("added", added), ("removed", removed), ("changed", changed))
            if names
        ]

    def spawn(self, work: Coroutine[Any, Any, object]) -> None:
        """Run `work` beside the loop; a stop waits for it."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def poll_all_now(self, reason: str) -> None:
        """Poll every enabled feed now, due or not: an operator's "refresh all" (SIGUSR1), say
        after fixing the network, instead of waiting out intervals and back-offs.

        A feed polled here already, or held by another replica, is left to that poll; the
        polls queue for POLLS_IN_FLIGHT slots like scheduled ones.
        """
        if self.stopping:
            return
        feeds = [feed for feed in self.app.config.feeds if feed.enabled]
        logger.info("polling every feed now (%s): %d feeds", reason, len(feeds))
        for feed in feeds:
            self.spawn(self._tracked_poll(feed, force=True))

    async def poll_if_due(self, feed: FeedConfig, force: bool = False) -> None:
        """Poll one feed unless it is backing off, waiting out Retry-After, or gone, or
        another replica has just polled it or is polling it now (with `force`: unless it is
        polled now, here or by another replica).

        At most POLLS_IN_FLIGHT polls run at once; the rest wait before claiming, so an
        overloaded replica leaves feeds to the others instead of timing out on all of them.
        """
        if feed.name in self._polling:
            return  # polled now: never twice at once from here
        self._polling.add(feed.name)
        try:
            async with self._polls:
                await self._poll_if_due(feed, force)
        finally:
            self._polling.discard(feed.name)

    async def _poll_if_due(self, feed: FeedConfig, force: bool) -> None:
        now = datetime.now(UTC)
        claimed = self.app.replica.claim(feed, now, force)  # also the due check
        if claimed is not None:
            await poll_feed(feed, self.app.deps, now, {feed.name: claimed})
            return
        until = self.app.replica.claimed_elsewhere_until(feed)
        if until is not None:
            # Another replica is polling it, or died doing so: look again when its claim ends.
            self._look_again(feed, (until - now).total_seconds() + 1)

    def _look_again(self, feed: FeedConfig, seconds: float) -> None:
        """Try `feed` again in `seconds` (once; later calls for the same feed are dropped)."""
        if feed.name in self._retries:
            return

        def fire() -> None:
            self._retries.pop(feed.name, None)
            self.spawn(self._tracked_poll(feed))

        self._retries[feed.name] = asyncio.get_running_loop().call_later(max(seconds, 0.1), fire)

    async def _tracked_poll(self, feed: FeedConfig, force: bool = False) -> None:
        await self._track(self.poll_if_due(feed, force), "poll")
        self._deliver_soon()

    async def _heartbeat(self) -> None:
        """Beat every few seconds, and every second while the database refuses writes, so
        health follows an outage and its end quickly; never behind a round stuck on Telegram.
        """
        if not self.stopping:
            self.app.heartbeat.tick(datetime.now(UTC))

    async def _tracked_deliver(self) -> None:
        now = datetime.now(UTC)
        self._deliver_soon()
        await self._track(self._follow_bot_lease(now), "bot lease renewal")
        await self._track(self._maintain_now(), "maintenance")

    async def _maintain_now(self) -> None:
        self.app.maintain(datetime.now(UTC))

    def _deliver_soon(self) -> None:
        """Start a delivery round unless one is running; never wait for it.

        Polls and the heartbeat go on while a round waits on Telegram; the final round at
        stop runs in `_wind_down`.
        """
        if self.stopping or (self._delivery is not None and not self._delivery.done()):
            return
        self._delivery = asyncio.ensure_future(
            self._track(self._deliver_if_leader(), "delivery round")
        )

    async def _deliver_if_leader(self) -> None:
        if self.app.replica.lead("delivery", datetime.now(UTC)):  # renewed: cannot lapse mid-round
            await self.app.deliver()

    async def _follow_bot_lease(self, now: datetime) -> None:
        """Run the command bot while this replica holds the bot lease, stop it when lost."""
        settings = self.app.settings
        if not settings.telegram_token or not settings.bot_commands or self.stopping:
            return
        held = self.app.replica.lead("bot", now)
        if held and self.bot.running is None:
            await self.bot.start()
        elif not held and self.bot.running is not None:
            logger.warning("another replica answers bot commands now")
            await self.bot.stop()

    async def _track(self, work: Coroutine[Any, Any, object], what: str) -> None:
        """Run `work` so that a stop waits for it; an outage of the database defers it.

        `what` names the work for the outage summary ("poll", "delivery round").
        """
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        try:
            await asyncio.shield(task)
        except StoreUnavailable as exc:  # an expected outage: one calm line, not a traceback
            self.app.heartbeat.database.failed(exc.reason, deferred=what)
        except Exception:  # a bug: say so with its traceback, and keep the service running
            logger.exception("%s failed with an internal error", what)
        except asyncio.CancelledError:
            # At shutdown the scheduler cancels the job waiting here; the shielded work goes
            # on and _wind_down waits for it. Any other cancellation is passed on.
            if not self.stopping:
                raise
        finally:
            self._tasks.discard(task)


class BotSeat:
    """The command bot of an `App`, run while this replica holds the bot lease."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.running: CommandBot | None = None

    async def start(self) -> None:
        """Answer analysts' commands when a token is set (MONITOR_BOT_COMMANDS)."""
        # Imported here: only a service with a token answers commands.
        from monitor.telegram_sink import TelegramSink

        app = self.app
        if not app.settings.bot_commands or not isinstance(app.sink, TelegramSink):
            return
        from monitor.bot import CommandBot
        from monitor.chats import ChatDirectory
        from monitor.commands import Desk

        bot = CommandBot(
            app.settings.telegram_token,
            app.settings.telegram_api_url,
            Desk(app.store, lambda: app.config, lambda why: app.reload(why, notify=False)),
            ChatDirectory(lambda: app.config, app.store),
            app.sink,
            telegram=app.ledger.destination,
            metrics=app.metrics,
        )
        try:
            await bot.start()
        except DeliveryError as exc:  # alerts matter more than commands: carry on without
            logger.error("%s; alerts are still delivered, commands are not answered", exc)
            return
        self.running = bot

    async def stop(self) -> None:
        bot, self.running = self.running, None
        if bot is not None:
            await bot.stop()
