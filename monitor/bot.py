"""Take analysts' commands from Telegram: a python-telegram-bot `Application`, run in our loop.

PTB's `run_polling` owns the loop and its signals, so the lifecycle is driven by hand
(initialize, start, updater.start_polling; the reverse on stop), as PTB advises for
applications that run beside other asyncio code. Only chats named in chats.yaml are answered
(found by number, through migrations and resolved @names: chats.py); everything else is
ignored, counted, and logged at most once a minute per chat. What to answer is decided in
commands.py.

Each command is answered in a task of its own, so a slow one never holds up the others, and
replies go out through the alerts' sink: one per-chat pace for alerts and replies, and
Telegram's `RetryAfter` waited out for both.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Coroutine
from typing import Any

from telegram import BotCommand, CallbackQuery, Message, MessageEntity, Update
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from monitor.chats import ChatDirectory
from monitor.commands import COMMAND_DESCRIPTIONS, Desk, Request
from monitor.config import Config
from monitor.errors import DeliveryError, StoreUnavailable
from monitor.metrics import Metrics
from monitor.outages import Outage
from monitor.taps import answer_tap, user_name
from monitor.telegram_sink import QuietRequest, TelegramSink, without_page
from monitor.updates import UpdatesRequest

logger = logging.getLogger(__name__)

# Seconds a getUpdates long poll may wait; stopping the bot waits for it at most this long.
POLL_TIMEOUT = 5
# Commands being answered at once (each waits for its replies' turn at the chat's pace), in
# all and from one chat; more are not taken, so one flooding chat cannot crowd out the others.
MAX_IN_FLIGHT = 1000
MAX_IN_FLIGHT_PER_CHAT = 200
# Seconds a command may take before it is answered with a note that it took too long.
COMMAND_SECONDS = 30.0
# Seconds a stop waits for commands being answered before cancelling them.
STOP_GRACE_SECONDS = 2.0
# Ignored messages from one chat are logged once per this many seconds (with a count).
STRANGER_LOG_SECONDS = 60.0
STRANGERS_REMEMBERED = 1000


class CommandBot:
    """Receive commands with getUpdates and answer them in the chat they came from.

    `chats` knows the configured chats and the configuration in force, read per message, so a
    config reload applies at once.
    """

    def __init__(
        self,
        token: str,
        api_url: str,
        desk: Desk,
        chats: ChatDirectory,
        replies: TelegramSink,
        telegram: Outage | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        """`replies` sends the answers (paced with the alerts it also sends); `telegram`
        follows the Bot API's availability (shared with delivery), so a failing getUpdates is
        one calm line instead of a traceback per attempt."""
        self.desk = desk
        self.chats = chats
        self.replies = replies
        self._config_seen: Config | None = None  # the config whose @names were looked up
        self._strangers = _Strangers()
        self.metrics = metrics
        self.telegram = telegram or Outage("Telegram Bot API", "commands wait")
        self._answering: set[asyncio.Task[None]] = set()
        self._per_chat: Counter[str] = Counter()  # commands being answered, by chat
        self._busy = _Strangers()  # when to log commands not taken, per chat
        self.application: Application = (  # type: ignore[type-arg]
            ApplicationBuilder()
            .token(token)
            .base_url(f"{api_url}/bot")
            .base_file_url(f"{api_url}/file/bot")
            .request(QuietRequest())
            .get_updates_request(UpdatesRequest(self._skipped))
            .job_queue(None)
            .build()
        )
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)

    async def start(self) -> None:
        """Register the command menu and start polling for updates."""
        app = self.application
        try:
            await app.initialize()
            await app.bot.set_my_commands(
                [BotCommand(name, text) for name, text in COMMAND_DESCRIPTIONS.items()]
            )
            await app.start()
            assert app.updater is not None  # built with the default updater
            await app.updater.start_polling(
                poll_interval=0.0,
                timeout=POLL_TIMEOUT,
                allowed_updates=["message", "callback_query"],
                error_callback=self._polling_failed,
            )
        except TelegramError as exc:
            raise DeliveryError(f"cannot start the command bot: {type(exc).__name__}") from None
        self._config_seen = self.chats.config()
        await self._look_up_names()
        logger.info("answering bot commands in %d configured chats", len(self.chats.config().chats))

    async def _look_up_names(self) -> None:
        """Ask Telegram which chat each @name in chats.yaml is, so its commands are known."""
        for name, username in self.chats.unresolved().items():
            try:
                chat_id = (await self.application.bot.get_chat(username)).id
            except (TelegramError, TypeError, KeyError, ValueError) as exc:
                # TypeError and the like: an answer this PTB cannot read (fields it lacks)
                self.chats.resolved(username, None)
                logger.warning(
                    "chat %s (%s) cannot give commands: Telegram did not resolve the name (%s); "
                    "its alerts still go out. Write its numeric id in chats.yaml to take them",
                    name,
                    username,
                    (exc.message if isinstance(exc, TelegramError) else type(exc).__name__)[:120],
                )
                continue
            self.chats.resolved(username, chat_id)
            logger.info("chat %s (%s) is chat %d", name, username, chat_id)

    async def stop(self) -> None:
        """Stop polling; give the commands being answered a moment, then cancel them."""
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        self.desk.stop()
        if self._answering:
            _, late = await asyncio.wait(set(self._answering), timeout=STOP_GRACE_SECONDS)
            for task in late:
                task.cancel()
            if late:
                logger.warning("stopped %d commands still being answered", len(late))
                await asyncio.wait(late, timeout=1.0)
        if app.running:
            await app.stop()
        await app.shutdown()

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Take a new message that starts with a command for this bot, or a tap on the
        buttons under an alert; ignore the rest."""
        if update.callback_query is not None:
            self._spawn(self._on_tap(update.callback_query))
            return
        message = update.message
        if message is None:  # an edit or a channel post: never a command, even if it reads so
            other = update.edited_message or update.channel_post or update.edited_channel_post
            if other is not None and (other.text or "").startswith("/"):
                self._count_ignored("not a new message")
            return
        config = self.chats.config()
        if config is not self._config_seen:  # reloaded: @names to look up (again)
            self._config_seen = config
            self.chats.retry()
            self._spawn(self._look_up_names())
        if message.migrate_from_chat_id is not None:  # said in the new supergroup
            self._migrated(message.migrate_from_chat_id, message.chat.id)
        elif message.migrate_to_chat_id is not None:  # said in the old group
            self._migrated(message.chat.id, message.migrate_to_chat_id)
        elif (message.text or "").split() and _starts_with_command(message):
            self._take(message, config, context.bot.username or "")

    def _take(self, message: Message, config: Config, username: str) -> None:
        """Answer a command, unless it is for another bot, from a stranger, or one too many."""
        word, *args = (message.text or "").split()
        command, _, addressee = word[1:].partition("@")
        command = command.lower()
        if addressee and addressee.casefold() != username.casefold():
            self._count_ignored("for another bot")  # several bots share a group: not ours
            return
        chat = message.chat
        name = self.chats.name_of(chat.id)
        if name is None:
            self._ignore_stranger(chat.id, command)
            return
        if len(self._answering) >= MAX_IN_FLIGHT or self._per_chat[name] >= MAX_IN_FLIGHT_PER_CHAT:
            self._count_ignored("busy")
            if (unlogged := self._busy.log_now(chat.id)) is not None:
                logger.warning(
                    "/%s from chat %s not taken: too many commands waiting for answers (%d more "
                    "since the last line)",
                    command[:32],
                    name,
                    unlogged,
                )
            return
        request = _request(message, name, command, args, name in config.operators)
        if command in ("feeds", "reload") and not request.operator:
            logger.warning("refused operator command /%s from chat %s", command, name)
        # In a forum the reply belongs in the topic the command was given in, not in General.
        thread = message.message_thread_id if message.is_topic_message else None
        self._per_chat[name] += 1
        self._spawn(self._answer(request, str(chat.id), thread))

    def _migrated(self, old: int, new: int) -> None:
        """A group became a supergroup: its commands and alerts follow it."""
        if self.chats.name_of(new) is not None:
            return  # known already (Telegram says it in the old group and in the new one)
        name = self.chats.moved(old, new)
        if name is not None:
            logger.warning(
                "chat %s became supergroup %d; commands and alerts follow it (update chats.yaml)",
                name,
                new,
            )

    def _ignore_stranger(self, chat_id: int, command: str) -> None:
        """Count a command from a chat not in chats.yaml; log it at most once a minute."""
        self._count_ignored("unknown chat")
        unlogged = self._strangers.log_now(chat_id)
        if unlogged is None:
            return
        more = f" ({unlogged} more since the last line)" if unlogged else ""
        logger.warning("ignored /%s from chat %s: not in chats.yaml%s", command[:32], chat_id, more)

    def _skipped(self, update_id: int, problem: str) -> None:
        """An update could not be read: say so once (it is confirmed, never fetched again)."""
        self._count_ignored("unreadable update")
        logger.warning("skipped update %d: it cannot be read (%s)", update_id, problem[:200])

    def _count_ignored(self, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.bot_ignored(reason)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in a task of its own, so the next update is read at once."""
        task = asyncio.create_task(work)
        self._answering.add(task)
        task.add_done_callback(self._answering.discard)

    async def _answer(self, request: Request, chat_id: str, thread: int | None) -> None:
        """Work out the replies within the command budget, then send them in order."""
        try:
            await self._answer_now(request, chat_id, thread)
        finally:
            self._per_chat[request.chat] -= 1
            if self._per_chat[request.chat] <= 0:
                del self._per_chat[request.chat]

    async def _answer_now(self, request: Request, chat_id: str, thread: int | None) -> None:
        try:
            replies = await asyncio.wait_for(self.desk.answer(request), COMMAND_SECONDS)
        except TimeoutError:
            logger.warning(
                "/%s in chat %s took over %g s", request.command, request.chat, COMMAND_SECONDS
            )
            replies = [f"No answer within {COMMAND_SECONDS:g} s; try again later."]
        except StoreUnavailable as exc:
            logger.warning("bot command not answered: %s", exc)
            replies = ["The database is not available just now; try again in a minute."]
        except Exception:  # a bug: say so in the chat and the log, and keep answering others
            logger.exception("/%s in chat %s failed", request.command, request.chat)
            replies = ["That failed with an internal error (logged)."]
        for text in replies:
            try:
                await self.replies.reply(request.chat, chat_id, text, thread)
            except DeliveryError as exc:
                logger.warning(
                    "reply to /%s in chat %s not delivered: %s", request.command, request.chat, exc
                )
                return

    async def _on_tap(self, query: CallbackQuery) -> None:
        """A button under an alert was tapped: grade it or mute its topics (`taps.py`)."""
        message = query.message
        name = self.chats.name_of(message.chat.id) if message is not None else None
        if not await answer_tap(query, name, self.desk.store, self.metrics):
            self._count_ignored("button not ours here")

    def _polling_failed(self, error: TelegramError) -> None:
        """getUpdates failed (PTB retries with growing pauses): note it, calmly."""
        self.telegram.failed(f"getUpdates: {without_page(error.message)}", deferred="update poll")

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        if isinstance(error, TelegramError):
            logger.warning("bot command not answered: %s: %s", type(error).__name__, error)
        elif isinstance(error, StoreUnavailable):
            logger.warning("bot command not answered: %s", error)
        else:
            logger.error("bot command failed", exc_info=error)


def _request(message: Message, chat: str, command: str, args: list[str], operator: bool) -> Request:
    """The command in `message`, from configured chat `chat`, as the desk takes it."""
    reply_to = message.reply_to_message
    return Request(
        chat=chat,
        command=command,
        args=tuple(args),
        reply_to=str(reply_to.message_id) if reply_to is not None else None,
        operator=operator,
        user=_who(message),
    )


def _who(message: Message) -> str:
    """Name who sent a message: "@name (id)", or their name when they have no @name."""
    user = message.from_user
    if user is None:  # sent on behalf of the chat (an anonymous admin)
        return f"the chat itself ({message.sender_chat.id if message.sender_chat else '?'})"
    return user_name(user)


def _starts_with_command(message: Message) -> bool:
    """Say whether Telegram marked the message's first word as a bot command."""
    first = message.entities[0] if message.entities else None
    return first is not None and first.type == MessageEntity.BOT_COMMAND and first.offset == 0


class _Strangers:
    """When to log ignored messages from a chat: its first, then once a minute at most."""

    def __init__(self) -> None:
        # chat id -> (when last logged, messages since, unlogged); the oldest forgotten first
        self._seen: OrderedDict[int, tuple[float, int]] = OrderedDict()

    def log_now(self, chat_id: int) -> int | None:
        """Return how many messages from `chat_id` went unlogged if this one is to be
        logged, else None (and count it)."""
        now = time.monotonic()
        seen = self._seen.pop(chat_id, None)
        if seen is not None and now - seen[0] < STRANGER_LOG_SECONDS:
            self._seen[chat_id] = (seen[0], seen[1] + 1)
            return None
        self._seen[chat_id] = (now, 0)
        while len(self._seen) > STRANGERS_REMEMBERED:
            self._seen.popitem(last=False)
        return seen[1] if seen is not None else 0
