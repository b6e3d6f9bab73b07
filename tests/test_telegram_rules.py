"""Telegram's rules, each against the fake Bot API: pacing, 429, blocked, migrated, edits, dead."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from monitor.cli import main
from monitor.deliver import deliver_pending
from monitor.models import Alert
from monitor.pacer import Pacer
from monitor.store import Store
from monitor.telegram_sink import TelegramSink, without_page
from tests.conftest import GROUP_CHAT, TOKEN, WriteConfig, article_page, open_store, rss
from tests.servers import ContentServer, FakeTelegram

TOPICS = [{"name": "North Korea", "query": "Nordkorea*", "chats": ["default"]}]


def distinct_reports(count: int) -> list[tuple[str, list[str]]]:
    """Reports that match the topic but are each a different story (invented, unshared words)."""
    rng = random.Random(11)
    syllables = [
        "ka",
        "lo",
        "mi",
        "ser",
        "tun",
        "bra",
        "vek",
        "dol",
        "pir",
        "sam",
        "gen",
        "tor",
        "ul",
        "fen",
        "ris",
        "pak",
        "mon",
        "zel",
        "dar",
        "wes",
    ]
    reports = []
    for number in range(count):
        words = ["".join(rng.sample(syllables, 3)).capitalize() for _ in range(40)]
        reports.append(
            (
                f"Nordkorea: {' '.join(words[:4])} ({number})",
                [" ".join(words[4:22]) + ".", " ".join(words[22:]) + "."],
            )
        )
    return reports


def serve(content: ContentServer, write_config: WriteConfig, count: int, **chats: Any) -> None:
    items = []
    for number, (title, paragraphs) in enumerate(distinct_reports(count)):
        link = content.add(f"/a/{number}", article_page(title, paragraphs), "text/html")
        items.append({"title": title, "link": link})
    write_config(
        [{"name": "Outlet", "url": content.add("/feed.xml", rss(items))}],
        topics=TOPICS,
        chats=chats or None,
    )


@pytest.mark.parametrize(
    ("count", "lags", "interval"),
    [
        # Unpaced sends arrive milliseconds apart; the 0.15 s margin absorbs a busy machine's
        # jitter.
        (4, [], "0.35"),
        # Telegram counts from when a message arrives: the first one is 0.6 s on the way, so
        # a second one sent 0.3 s after the first began would arrive before it.
        (2, [0.6], "0.3"),
    ],
    ids=["paced", "a-slow-request-first"],
)
def test_pacing_keeps_within_the_per_chat_limit(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    bot: FakeTelegram,
    monkeypatch: pytest.MonkeyPatch,
    count: int,
    lags: list[float],
    interval: str,
) -> None:
    serve(content, write_config, count)
    bot.chat_interval = 0.2
    bot.lags = list(lags)
    monkeypatch.setenv("MONITOR_TELEGRAM_GROUP_INTERVAL", interval)
    assert main(["once"]) == 0
    assert len(bot.messages) == count and bot.rate_violations == 0


def test_too_fast_is_answered_with_429_and_waited_out(
    env: dict[str, str], write_config: WriteConfig, content: ContentServer, bot: FakeTelegram
) -> None:
    serve(content, write_config, 3)
    bot.chat_interval = 0.5  # we send faster than this chat allows (group interval 0)
    assert main(["once"]) == 0
    assert len(bot.messages) == 3 and bot.rate_violations >= 1
    store = open_store(env)
    assert store.outbox.counts() == {"sent": 3}
    store.close()


def test_pacer_spaces_private_and_group_chats_differently() -> None:
    pacer = Pacer(private_interval=1.0, group_interval=3.0)
    assert pacer.interval("12345") == 1.0
    assert pacer.interval("-100123") == 3.0 and pacer.interval("@channel") == 3.0


def test_an_alert_goes_before_replies_waiting_in_its_chat() -> None:
    pacer = Pacer(private_interval=0.05, group_interval=0.05)
    order: list[str] = []

    async def send(what: str, priority: int) -> None:
        async with pacer.turn("-100123", priority):
            order.append(what)

    async def scenario() -> None:
        replies = [asyncio.create_task(send(f"reply {n}", Pacer.REPLY)) for n in range(6)]
        await asyncio.sleep(0.01)  # reply 0 went out; reply 1 has its turn, four wait
        assert order == ["reply 0"] and pacer.waiting("-100123") == 5
        await asyncio.gather(send("alert", Pacer.ALERT), *replies)

    asyncio.run(scenario())
    assert order == ["reply 0", "reply 1", "alert", *(f"reply {n}" for n in range(2, 6))]
    assert pacer.waiting("-100123") == 0


def test_blocked_chat_is_disabled_reported_and_keeps_its_alerts(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    bot: FakeTelegram,
    capsys: pytest.CaptureFixture[str],
) -> None:
    serve(content, write_config, 2)
    bot.blocked.add(GROUP_CHAT)
    assert main(["once"]) == 0
    assert bot.messages == []
    assert "chat disabled" in capsys.readouterr().err
    assert main(["status"]) == 0
    assert "chat default: disabled since" in capsys.readouterr().out
    store = open_store(env)
    assert store.outbox.counts() == {"pending": 2}
    bot.blocked.clear()
    assert main(["once"]) == 0
    assert bot.messages == [], "a disabled chat is not retried before its daily recheck"

    assert asyncio.run(deliver_later(store, bot, timedelta(hours=25))) == 2
    assert store.chats.state("default").disabled_at is None  # type: ignore[union-attr]
    store.close()


def test_migrated_group_is_followed_to_its_new_id(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    bot: FakeTelegram,
    capsys: pytest.CaptureFixture[str],
) -> None:
    serve(content, write_config, 2, default=-4242)
    bot.chats = {GROUP_CHAT, "-4242"}
    bot.migrated["-4242"] = GROUP_CHAT
    assert main(["once"]) == 0
    assert [m["chat_id"] for m in bot.messages] == [GROUP_CHAT, GROUP_CHAT]
    assert "update chats.yaml" in capsys.readouterr().err
    assert main(["status"]) == 0
    assert f"moved from -4242 to {GROUP_CHAT}" in capsys.readouterr().out


def test_unchanged_edit_is_not_an_error(bot: FakeTelegram) -> None:
    alert = Alert(
        chat="default",
        chat_id=GROUP_CHAT,
        title="Titel",
        link="https://example.org/a",
        outlet="ZEIT",
        published=None,
        topics=("T",),
        snippet="Text",
        highlights=(),
        from_page=True,
    )

    async def twice() -> None:
        sink = TelegramSink(TOKEN, bot.url, Pacer(0, 0))
        await sink.start()
        try:
            message_id = await sink.send(alert, GROUP_CHAT)
            assert message_id is not None
            await sink.edit(message_id, alert, GROUP_CHAT, [alert])
            await sink.edit(message_id, alert, GROUP_CHAT, [alert])  # "message is not modified"
        finally:
            await sink.stop()

    asyncio.run(twice())
    assert len(bot.edits) == 1


def test_garbage_from_the_api_is_retried_and_nothing_is_lost(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    bot: FakeTelegram,
    capsys: pytest.CaptureFixture[str],
) -> None:
    serve(content, write_config, 2)
    bot.garbage = True
    assert main(["once", "--deliver-for", "3s"]) == 0  # not the minute of retries it would wait
    assert "unexpected answer from Telegram" in capsys.readouterr().err
    store = open_store(env)
    assert store.outbox.counts() == {"pending": 2}
    bot.garbage = False
    assert asyncio.run(deliver_later(store, bot, timedelta(minutes=1))) == 2
    store.close()


async def deliver_later(store: Store, bot: FakeTelegram, later: timedelta) -> int:
    """Run one delivery round as if `later` had passed (retries and rechecks are due)."""
    sink = TelegramSink(TOKEN, bot.url, Pacer(0, 0))
    await sink.start()
    try:
        return await deliver_pending(
            store, sink, datetime.now(UTC) + later, {"default": GROUP_CHAT}, timedelta(hours=48)
        )
    finally:
        await sink.stop()


def test_alert_undeliverable_too_long_is_kept_as_dead(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    serve(content, write_config, 1)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    with FakeTelegram(TOKEN, chats={GROUP_CHAT}) as down:
        down.hang.set()  # answers 500 after being released; the client times out first
        monkeypatch.setenv("TELEGRAM_API_URL", down.url)
        monkeypatch.setenv("MONITOR_DEAD_AFTER", "0.0003")  # about a second
        monkeypatch.setenv("MONITOR_HTTP_TIMEOUT", "1")
        down._release.set()  # every send now answers 500: retryable
        assert main(["once"]) == 0
        time.sleep(1.2)
        assert main(["once"]) == 0
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "1 dead" in out and "dead alert" in out


@pytest.mark.slow
def test_crash_at_random_points_loses_nothing_and_duplicates_at_most_once_per_kill(
    env: dict[str, str], write_config: WriteConfig, content: ContentServer, telegram: FakeTelegram
) -> None:
    alerts, kills = 24, 4
    # one message per alert (no burst grouping), so a duplicate is one repeated message
    serve(content, write_config, alerts, default={"id": int(GROUP_CHAT), "burst": False})
    telegram.delay = 0.12  # each send is in flight for a while: kills land mid-request
    child_env = {
        **os.environ,
        **env,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": telegram.url,
        "MONITOR_TELEGRAM_GROUP_INTERVAL": "0",
    }
    rng = random.Random(5)
    for _ in range(kills):
        child = subprocess.Popen(
            [sys.executable, "-m", "monitor", "once"],
            env=child_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(1.0, 3.0))
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    final = subprocess.run(
        [sys.executable, "-m", "monitor", "once"], env=child_env, capture_output=True, timeout=120
    )
    assert final.returncode == 0, final.stderr

    sent = [m["visible"].splitlines()[1] for m in telegram.messages]
    titles = {title for title, _ in distinct_reports(alerts)}
    assert set(sent) == titles, "an alert was lost"
    duplicates = len(sent) - len(set(sent))
    assert duplicates <= kills
    print(
        f"crash test: {alerts} alerts, {kills} kills, {len(sent)} messages, {duplicates} duplicates"
    )


def test_a_proxy_page_in_a_telegram_error_is_not_repeated() -> None:
    # PTB's message for a 502 with a proxy's HTML body, as sends and getUpdates both see it
    html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    message = f"Bad Gateway. Parsing the server response {html!r} failed"
    assert without_page(message) == "Bad Gateway"
    assert without_page("Conflict: terminated by other getUpdates request") == (
        "Conflict: terminated by other getUpdates request"
    )
