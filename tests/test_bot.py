"""The bot's commands end to end: updates through the fake Bot API's getUpdates, replies back."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from telegram.error import NetworkError, TimedOut

from monitor.app import App
from monitor.config import Settings, load_config
from monitor.models import Article, Entry
from monitor.store import NewEntry, Store
from monitor.updates import UpdatesRequest
from tests.conftest import (
    GROUP_CHAT,
    SHELLS_PARAGRAPHS,
    TOKEN,
    TROOPS_PARAGRAPHS,
    WriteConfig,
    article_page,
    open_store,
    rss,
    wait_until,
)
from tests.servers import ContentServer, FakeTelegram

OPERATORS = "-1009"
STRANGER = "-4242"
TOPICS = [
    {"name": "North Korea", "query": "@north_korea", "chats": ["default"]},
    {"name": "Weather", "query": "Schnee*", "chats": ["default"], "digest": "1h"},
]


async def until(check: Callable[[], bool], what: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def serving(directory: Path) -> AsyncIterator[App]:
    """Run the service on `directory` (env from the fixtures) until the block ends."""
    settings = Settings.from_env(os.environ)
    stop = asyncio.Event()
    async with App(settings, load_config(directory)) as app:
        serving = asyncio.create_task(app.serve(stop))
        try:
            await until(lambda: app.bot is not None, "the bot to start")
            yield app
        finally:
            stop.set()
            await serving


@pytest.fixture
def desk(
    env: dict[str, str], write_config: WriteConfig, content: ContentServer, bot: FakeTelegram
) -> Path:
    """A config with one quiet feed, the analysts' group and the operators' chat."""
    bot.chats = {GROUP_CHAT, OPERATORS}
    content.add("/feed.xml", rss([]))
    return write_config(
        [{"name": "Outlet", "url": content.url("/feed.xml"), "interval": 3600}],
        topics=TOPICS,
        chats={"default": int(GROUP_CHAT), "ops": {"id": int(OPERATORS), "operator": True}},
        terms={"north_korea": "Nordkorea* OR Pjöngjang"},
    )


class Chat:
    """One chat's side of the conversation with the bot."""

    def __init__(self, bot: FakeTelegram, chat_id: str) -> None:
        self.bot = bot
        self.chat_id = chat_id

    async def ask(
        self,
        text: str,
        reply_to: str | None = None,
        user_id: int = 777,
        username: str | None = None,
    ) -> str:
        before = len(self.bot.replies_to(self.chat_id))
        self.bot.send_update(
            self.chat_id, text, reply_to=reply_to, user_id=user_id, username=username
        )
        await until(lambda: len(self.bot.replies_to(self.chat_id)) > before, f"a reply to {text}")
        await asyncio.sleep(0.1)  # a command may answer in several messages
        return "\n".join(self.bot.replies_to(self.chat_id)[before:])


def test_every_command_through_the_bot_api(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    telegram: FakeTelegram,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_URL", telegram.url)
    monkeypatch.setenv("MONITOR_TELEGRAM_GROUP_INTERVAL", "0")
    telegram.chats = {GROUP_CHAT, OPERATORS, STRANGER}
    troops = content.add(
        "/t", article_page("Nordkoreas Soldaten in Kursk", TROOPS_PARAGRAPHS), "text/html"
    )
    content.add("/feed.xml", rss([{"title": "Nordkoreas Soldaten in Kursk", "link": troops}]))
    directory = write_config(
        [{"name": "Outlet", "url": content.url("/feed.xml"), "interval": 3600}],
        topics=TOPICS,
        chats={"default": int(GROUP_CHAT), "ops": {"id": int(OPERATORS), "operator": True}},
        terms={"north_korea": "Nordkorea* OR Pjöngjang"},
    )
    settings = Settings.from_env(os.environ)
    analysts, operators, stranger = (Chat(telegram, c) for c in (GROUP_CHAT, OPERATORS, STRANGER))

    async def scenario() -> None:
        stop = asyncio.Event()
        async with App(settings, load_config(directory)) as app:
            serving = asyncio.create_task(app.serve(stop))
            try:
                await until(lambda: len(telegram.replies_to(GROUP_CHAT)) == 1, "the first alert")
                alert_id = telegram.messages[0]["message_id"]
                await conversation(app, analysts, operators, stranger, alert_id, content)
            finally:
                stop.set()
                await serving

    async def conversation(
        app: App,
        analysts: Chat,
        operators: Chat,
        stranger: Chat,
        alert_id: str,
        content: ContentServer,
    ) -> None:
        text = await analysts.ask("/help")
        assert "/topics" in text and "/why" in text and "/reload" not in text
        assert "/reload" in await operators.ask("/start")

        text = await analysts.ask("/topics")
        assert "North Korea\n@north_korea\nchats: default" in text
        assert "@north_korea (term list)\nany of nordkorea*, pjongjang" in text
        assert "Weather\nschnee*\nchats: default; digest every 1h" in text

        assert "Nordkoreas Soldaten in Kursk" in await analysts.ask("/recent")
        assert "Nordkoreas Soldaten in Kursk" in await analysts.ask("/recent north 3")
        assert "No alerts in this chat yet for Weather" in await analysts.ask("/recent weather")
        assert "No single topic matches 'volcanoes'" in await analysts.ask("/recent volcanoes")
        assert "Usage: /recent" in await analysts.ask("/recent 99")
        # isdigit() accepts "²" and int() does not: it is read as a topic name, not a crash
        assert "No single topic matches '²'" in await analysts.ask("/recent ²")

        text = await analysts.ask("/why", reply_to=alert_id)
        assert "North Korea: MATCH (score 2)" in text and "terms found: Nordkoreas" in text
        assert "snippet:" in text
        assert "from term lists: nordkorea* (@north_korea)" in text
        assert "Story: " in text
        assert "Usage: /why" in await analysts.ask("/why")

        assert "Usage: /mute" in await analysts.ask("/mute north")
        assert "Usage: /mute" in await analysts.ask("/mute north forever")
        assert "Usage: /mute" in await analysts.ask("/mute north 90d")
        assert "Muted <b>" not in (text := await analysts.ask("/mute north 2h"))
        assert text.startswith("Muted North Korea in this chat until")

        # a new report while muted is not sent; the rest of the service goes on
        shells = content.add(
            "/s", article_page("Nordkorea liefert Granaten", SHELLS_PARAGRAPHS), "text/html"
        )
        content.add(
            "/feed.xml",
            rss(
                [
                    {"title": "Nordkoreas Soldaten in Kursk", "link": content.url("/t")},
                    {"title": "Nordkorea liefert Granaten", "link": shells},
                ]
            ),
        )
        await app.run_once()
        assert not any("Granaten" in reply for reply in telegram.replies_to(GROUP_CHAT))
        text = await analysts.ask("/status")
        assert "Feeds: 1 healthy, 0 failing, 0 not polled yet" in text
        assert "Muted here: North Korea until" in text
        assert "Lifted 1 mute." in await analysts.ask("/unmute")
        assert "Nothing was muted here." in await analysts.ask("/unmute")

        text = await analysts.ask("/search Kursk")
        assert "Nordkoreas Soldaten in Kursk" in text and "Granaten" not in text
        assert "Nordkorea liefert Granaten" in await analysts.ask('/search "liefert granaten"')
        assert "Cannot search for that (col 1: unbalanced" in await analysts.ask("/search (kursk")
        assert "Nothing in the last 7 days matches." in await analysts.ask("/search Vulkan")

        # operator commands: refused to analysts, answered to operators
        assert await analysts.ask("/reload") == "This command is for the operators' chat only."
        assert await analysts.ask("/feeds") == "This command is for the operators' chat only."
        text = await operators.ask("/feeds")
        assert "Outlet" in text and "ok" in text
        assert (await operators.ask("/reload")).startswith("Reloaded: ")

        # a chat not in chats.yaml gets nothing, not even help
        telegram.send_update(STRANGER, "/status")
        telegram.send_update(STRANGER, "/help")
        await analysts.ask("/help")  # the stranger's updates were handled before this one
        assert telegram.replies_to(STRANGER) == []

    with caplog.at_level(logging.INFO):
        asyncio.run(scenario())
    assert "ignored /status from chat -4242: not in chats.yaml" in caplog.text
    assert "refused operator command /reload from chat default" in caplog.text
    assert not any(TOKEN in r.getMessage() for r in caplog.records if r.name.startswith("monitor"))
    assert not telegram.errors, telegram.errors
    store = Store.open(f"sqlite:///{settings.state_dir / 'monitor.sqlite'}")
    assert store.outbox.counts() == {"sent": 1, "muted": 1}
    store.close()


def test_the_running_bot_never_logs_the_token_even_at_debug(
    env: dict[str, str], write_config: WriteConfig, content: ContentServer, telegram: FakeTelegram
) -> None:
    content.add("/feed.xml", rss([]))
    write_config([{"name": "Outlet", "url": content.url("/feed.xml"), "interval": 3600}])
    child = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run"],
        env={
            **os.environ,
            **env,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": telegram.url,
            "MONITOR_LOG_LEVEL": "DEBUG",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert telegram.polled_updates.wait(30), "the bot never asked for updates"
        before = len(telegram.replies_to(GROUP_CHAT))
        telegram.send_update(GROUP_CHAT, "/status")
        telegram.send_update("-777", "/status")  # unknown: ignored, logged
        telegram.send_update("-778", "/status\x1b[2J\u202e\nFAKE")  # escaped in the log
        deadline = time.monotonic() + 20
        while len(telegram.replies_to(GROUP_CHAT)) == before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(telegram.replies_to(GROUP_CHAT)) > before
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    assert "ignored /status from chat -777" in err
    assert "ignored /status\\x1b[2j\\u202e from chat -778" in err
    assert "\x1b" not in err and "\u202e" not in err
    assert TOKEN not in out + err and TOKEN.split(":")[1] not in out + err


@pytest.mark.slow
def test_a_command_flood_is_answered_at_the_chat_pace_and_through_a_429(
    desk: Path, bot: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Telegram's ~20 a minute in a group, compressed: at most 40 a second; we keep to 30
    monkeypatch.setenv("MONITOR_TELEGRAM_GROUP_INTERVAL", str(1 / 30))
    bot.chat_window = (40, 1.0)
    bot.retry_after = 1  # and the first reply is answered "429, retry after 1 s"

    async def scenario() -> None:
        async with serving(desk):
            for number in range(200):
                bot.send_update(GROUP_CHAT, "/help" if number % 2 else "/status")
            await until(lambda: bot.replies_to(GROUP_CHAT), "the first reply")
            asked = time.monotonic()  # another chat is not held up by the flood
            assert "news-monitor" in await Chat(bot, OPERATORS).ask("/help")
            assert time.monotonic() - asked < 2.0
            await until(lambda: len(bot.replies_to(GROUP_CHAT)) >= 200, "200 replies", 30)

    asyncio.run(scenario())
    replies = bot.replies_to(GROUP_CHAT)
    assert len(replies) == 200
    assert sum("news-monitor" in reply for reply in replies) == 100  # /help
    assert sum(reply.startswith("Feeds:") for reply in replies) == 100  # /status
    assert bot.retry_afters == 1 and bot.rate_violations == 0
    assert not bot.errors, bot.errors


def test_only_new_messages_with_commands_for_this_bot_are_answered_in_their_topic(
    desk: Path, bot: FakeTelegram
) -> None:
    operators = Chat(bot, OPERATORS)

    async def scenario() -> None:
        async with serving(desk) as app:
            bot.send_update(OPERATORS, "/reload@OtherBot")  # addressed to another bot
            bot.send_update(OPERATORS, "/reload", kind="edited_message")
            bot.send_update(OPERATORS, "/status", kind="channel_post", chat_type="channel")
            assert "/reload" in await operators.ask("/help@Monitor_Bot")  # ours, any case
            assert len(bot.replies_to(OPERATORS)) == 1  # nothing before the help
            bot.send_update(OPERATORS, "/status", thread=42)
            await until(lambda: len(bot.replies_to(OPERATORS)) == 2, "the reply in the topic")
            metrics = app.metrics.render()[0].decode()
        assert bot.messages[-1]["message_thread_id"] == "42"
        assert "message_thread_id" not in bot.messages[0]
        for reason in ("for another bot", "not a new message"):
            assert f'monitor_bot_ignored_messages_total{{reason="{reason}"}}' in metrics
        assert 'reason="not a new message"} 2.0' in metrics

    asyncio.run(scenario())


def test_an_unreadable_update_is_skipped_once_and_the_next_is_answered(
    desk: Path, bot: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    analysts = Chat(bot, GROUP_CHAT)

    async def scenario() -> None:
        async with serving(desk) as app:
            polls = bot.calls.count("getUpdates")
            bot.send_raw_update({"message": {"message_id": 1, "date": 0, "chat": "not a chat"}})
            assert "news-monitor" in await analysts.ask("/help")
            await asyncio.sleep(1)
            # long polls (1 s each in the fake), not a loop fetching the bad update again
            assert bot.calls.count("getUpdates") - polls < 10
            metrics = app.metrics.render()[0].decode()
        assert 'monitor_bot_ignored_messages_total{reason="unreadable update"} 1.0' in metrics

    with caplog.at_level(logging.INFO):
        asyncio.run(scenario())
    skipped = [r.getMessage() for r in caplog.records if "skipped update" in r.getMessage()]
    assert skipped == [
        "skipped update 1: it cannot be read (TypeError: telegram._chat.Chat() argument "
        "after ** must be a mapping, not str)"
    ]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_get_updates_failures_back_off(
    desk: Path, bot: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    analysts = Chat(bot, GROUP_CHAT)

    async def scenario() -> None:
        async with serving(desk):
            bot.updates_answer = {"ok": True, "result": {"not": "a list"}}
            polls = bot.calls.count("getUpdates")
            await asyncio.sleep(2)
            failed = bot.calls.count("getUpdates") - polls
            assert 1 <= failed <= 3  # at 0 and 1 s (then 2.5 s), not hundreds
            bot.updates_answer = None
            assert "news-monitor" in await analysts.ask("/help")

    with caplog.at_level(logging.INFO):
        asyncio.run(scenario())
    assert not [r for r in caplog.records if r.levelno >= logging.CRITICAL]


def test_a_timed_out_long_poll_is_a_failure_that_is_backed_off_from(bot: FakeTelegram) -> None:
    # PTB retries a TimedOut getUpdates at once; a NetworkError it retries after 1 s, growing.
    request = UpdatesRequest(lambda number, problem: None)
    bot.hang.set()

    async def scenario() -> None:
        await request.initialize()
        try:
            with pytest.raises(NetworkError) as raised:
                await request.post(f"{bot.url}/bot{TOKEN}/getUpdates", read_timeout=0.3)
            assert not isinstance(raised.value, TimedOut)
            assert "getUpdates timed out" in raised.value.message
        finally:
            bot.release_hung()
            await request.shutdown()

    asyncio.run(scenario())


def test_chats_are_known_by_number_through_migrations_and_by_resolved_name(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    bot: FakeTelegram,
    caplog: pytest.LogCaptureFixture,
) -> None:
    public, grown, moved = "-1005550001", "-1004711", "-1004712"
    bot.chats = {GROUP_CHAT, public, grown, moved}
    bot.usernames = {"@desk_public": int(public)}
    content.add("/feed.xml", rss([]))
    directory = write_config(
        [{"name": "Outlet", "url": content.url("/feed.xml"), "interval": 3600}],
        topics=TOPICS,
        chats={
            "default": "-0" + GROUP_CHAT[1:],  # a leading zero: the same number
            "public": "@Desk_Public",
            "lost": "@nobody_here",
            "grown": -4711,  # becomes a supergroup while the bot runs
            "moved": -4712,  # became one earlier; delivery recorded it
        },
        terms={"north_korea": "Nordkorea*"},
    )
    store = open_store(env)
    store.chats.moved("moved", "-4712", moved)
    store.close()

    async def scenario() -> None:
        async with serving(directory):
            for chat_id in (GROUP_CHAT, public, moved):
                assert "news-monitor" in await Chat(bot, chat_id).ask("/help"), chat_id
            bot.send_raw_update(
                {
                    "message": {
                        "message_id": 1,
                        "date": 0,
                        "chat": {"id": int(grown), "type": "supergroup", "title": "Grown"},
                        "migrate_from_chat_id": -4711,
                    }
                }
            )
            assert "news-monitor" in await Chat(bot, grown).ask("/help")

    with caplog.at_level(logging.INFO):
        asyncio.run(scenario())
    assert (
        "chat lost (@nobody_here) cannot give commands: Telegram did not resolve the name "
        "(Chat not found); its alerts still go out" in caplog.text
    )
    assert "chat grown became supergroup -1004711; commands and alerts follow it" in caplog.text
    store = open_store(env)
    states = {state.name: state for state in store.chats.states()}
    store.close()
    assert (states["grown"].chat_id, states["grown"].moved_to) == ("-4711", grown)


def test_a_strangers_flood_is_one_log_line_and_counted(
    desk: Path, bot: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with serving(desk) as app:
            for _ in range(300):
                bot.send_update(STRANGER, "/status\x1b[2J")
            await Chat(bot, GROUP_CHAT).ask("/help")  # the stranger's updates came before
            metrics = app.metrics.render()[0].decode()
        assert 'monitor_bot_ignored_messages_total{reason="unknown chat"} 300.0' in metrics

    with caplog.at_level(logging.INFO):
        asyncio.run(scenario())
    ignored = [r.getMessage() for r in caplog.records if "ignored /" in r.getMessage()]
    # one line; whether it shows escaped here depends on the handlers an earlier test left on
    # the root logger (escaping itself is tested in test_logs.py)
    assert len(ignored) == 1 and ignored[0].startswith("ignored /status")
    assert ignored[0].endswith("from chat -4242: not in chats.yaml")
    assert bot.replies_to(STRANGER) == []


def store_articles(env: dict[str, str], count: int, words: int = 1000) -> None:
    """Store `count` articles of `words` words each, as polls would have (SQLite, no alerts)."""
    rng = random.Random(16)
    vocabulary = ["der", "die", "das", "dort", "soldaten", "sagte", "staat", "sind", "und"]
    now = datetime.now(UTC)
    items = []
    for number in range(count):
        entry = Entry(
            "Outlet", f"g{number}", f"https://outlet.example/{number}", "Bericht", "", now
        )
        text = " ".join(rng.choice(vocabulary) for _ in range(words))
        items.append(NewEntry(entry, (f"guid:Outlet:g{number}",), Article(entry, text, True), ()))
    store = open_store(env)
    store.entries.record("Outlet", items, now)
    store.close()


def test_a_slow_search_blocks_neither_help_nor_a_stop(
    env: dict[str, str], desk: Path, bot: FakeTelegram
) -> None:
    store_articles(env, 300)
    # About 0.1 s of NEAR work per article, and no article matches (no "zzzz"): the search
    # reads on until its time is up.
    slow = "/search " + " NEAR/50 ".join(["d*", "s*"] * 25) + " NEAR/50 zzzz"
    child = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run"],
        env={**os.environ, **env, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": bot.url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert bot.polled_updates.wait(30), "the bot never asked for updates"
        bot.send_update(GROUP_CHAT, slow)
        time.sleep(0.5)  # the search is under way
        asked = time.monotonic()
        bot.send_update(OPERATORS, "/help")
        wait_until(lambda: bot.replies_to(OPERATORS), "the answer to /help", 10)
        assert time.monotonic() - asked < 2.0
        assert bot.replies_to(GROUP_CHAT) == []  # the search is still running
        stopping = time.monotonic()
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=30)
        assert time.monotonic() - stopping < 5.0, err
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    assert "Traceback" not in err, err


def test_state_changes_leave_an_audit_line_and_status_says_who_muted(
    desk: Path, bot: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    analysts, operators = Chat(bot, GROUP_CHAT), Chat(bot, OPERATORS)

    async def scenario() -> None:
        async with serving(desk):
            assert "Muted" in await analysts.ask("/mute north 2h", user_id=501, username="anna")
            assert "Usage" in await analysts.ask("/mute north forever", user_id=502)
            text = await analysts.ask("/status")
            assert "Muted here: North Korea until " in text and text.endswith(" by @anna (501)")
            assert "Lifted 1 mute." in await analysts.ask("/unmute", user_id=502)
            assert "operators' chat only" in await analysts.ask(
                "/reload", user_id=501, username="anna"
            )
            assert "Reloaded" in await operators.ask("/reload", user_id=9)
            await analysts.ask("/help", user_id=501)  # not a change: no audit line

    with caplog.at_level(logging.INFO, logger="monitor.audit"):
        asyncio.run(scenario())
    lines = [r.getMessage() for r in caplog.records if r.name == "monitor.audit"]
    assert len(lines) == 5, lines
    assert lines[0].startswith(
        "chat default, user @anna (501): /mute north 2h -> Muted North Korea in this chat until "
    )
    assert lines[1] == (
        "chat default, user Analyst (502): /mute north forever -> Usage: /mute <topic> "
        "<duration>: no alerts for a topic here for a while, e.g. /mute troops 2h (30m, 2h, "
        "1d; at most 30d)"
    )
    assert lines[2] == "chat default, user Analyst (502): /unmute -> Lifted 1 mute."
    assert lines[3] == (
        "chat default, user @anna (501): /reload -> This command is for the operators' chat only."
    )
    assert lines[4].startswith("chat ops, user Analyst (9): /reload -> Reloaded: ")
