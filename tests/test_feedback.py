"""Analysts grade alerts with the buttons under them; operators see each topic's precision."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from monitor.app import App
from monitor.cli import main
from monitor.config import Settings, load_config
from monitor.grades import precision_lines, tally, wilson
from monitor.store import Store
from tests.conftest import (
    GROUP_CHAT,
    REPO,
    TOKEN,
    TROOPS_PARAGRAPHS,
    WriteConfig,
    article_page,
    open_store,
    rss,
)
from tests.servers import ContentServer, FakeTelegram

STRANGER = "-4242"
TOPICS = [{"name": "North Korea", "query": "Nordkorea*", "chats": ["default"]}]


def test_wilson_interval_matches_the_published_values() -> None:
    low, high = wilson(0, 10)
    assert low == 0.0 and round(high, 4) == 0.2775
    low, high = wilson(10, 10)
    assert round(low, 4) == 0.7225 and round(high, 9) == 1.0
    assert tuple(round(x, 4) for x in wilson(5, 10)) == (0.2366, 0.7634)
    with pytest.raises(ValueError):
        wilson(0, 0)


def test_tally_counts_each_topic_of_an_alert_and_its_label() -> None:
    rows = tally([(1, ("A", "B")), (2, ("A",)), (3, ("B",))], [(1, "relevant"), (3, "irrelevant")])
    assert [(r.topic, r.sent, r.graded, r.relevant) for r in rows] == [
        ("A", 2, 1, 1),
        ("B", 2, 2, 1),
    ]
    assert precision_lines("7 days", rows)[1] == (
        "topic B, 7 days: 2 sent, 2 graded, precision 0.50 (95 % interval 0.09-0.91)"
    )


async def until(check: Callable[[], object], what: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def grades_of(store: Store) -> list[tuple[int, str]]:
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT user_id, label FROM grades ORDER BY user_id").all()
    return [(row[0], row[1]) for row in rows]


def test_buttons_grade_mute_and_refuse_what_is_not_theirs(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    telegram: FakeTelegram,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_URL", telegram.url)
    monkeypatch.setenv("MONITOR_TELEGRAM_GROUP_INTERVAL", "0")
    telegram.chats = {GROUP_CHAT, STRANGER}
    page = content.add("/t", article_page("Nordkoreas Soldaten", TROOPS_PARAGRAPHS), "text/html")
    content.add("/feed.xml", rss([{"title": "Nordkoreas Soldaten in Kursk", "link": page}]))
    directory = write_config(
        [{"name": "Outlet", "url": content.url("/feed.xml"), "interval": 3600}], topics=TOPICS
    )
    settings = Settings.from_env(os.environ)

    async def tap(chat: str, message: str, data: str, user: int = 777) -> str:
        before = len(telegram.toasts)
        telegram.tap(chat, message, data, user)
        await until(lambda: len(telegram.toasts) > before, f"an answer to {data}")
        return telegram.toasts[-1].get("text", "")

    async def scenario() -> None:
        stop = asyncio.Event()
        async with App(settings, load_config(directory)) as app:
            serving = asyncio.create_task(app.serve(stop))
            try:
                await until(lambda: telegram.messages, "the first alert")
                await taps(app)
            finally:
                stop.set()
                await serving

    async def taps(app: App) -> None:
        alert = telegram.messages[0]
        markup = json.loads(alert["reply_markup"])
        assert [b["callback_data"] for b in markup["inline_keyboard"][0]] == [
            "grade:relevant",
            "grade:irrelevant",
            "mute:1d",
        ]
        message_id = alert["message_id"]

        assert "marked relevant" in await tap(GROUP_CHAT, message_id, "grade:relevant")
        assert grades_of(app.store) == [(777, "relevant")]
        await until(lambda: telegram.markups, "the buttons to show the choice")
        assert (
            "✓ 👍 Relevant"
            in json.loads(telegram.markups[-1]["reply_markup"])["inline_keyboard"][0][0]["text"]
        )

        assert "marked not relevant" in await tap(GROUP_CHAT, message_id, "grade:irrelevant")
        assert "marked relevant" in await tap(GROUP_CHAT, message_id, "grade:relevant", user=8)
        assert grades_of(app.store) == [(8, "relevant"), (777, "irrelevant")]  # the last one each

        nothing = "This button does nothing here."
        assert await tap(STRANGER, message_id, "grade:relevant") == nothing  # a foreign chat
        assert await tap(GROUP_CHAT, message_id, "grade:evil") == nothing  # forged data
        assert await tap(GROUP_CHAT, message_id, "grade:relevant" + "x" * 300) == nothing
        stale = await tap(GROUP_CHAT, "999999", "grade:irrelevant")  # not an alert
        assert "not an alert the monitor knows" in stale
        assert grades_of(app.store) == [(8, "relevant"), (777, "irrelevant")]

        assert "Muted here for a day: North Korea" in await tap(GROUP_CHAT, message_id, "mute:1d")
        [(topic, until_, by)] = app.store.mutes.in_chat("default", datetime.now(UTC))
        assert topic == "North Korea" and by == "@ana (777)"
        assert timedelta(hours=23) < until_ - datetime.now(UTC) <= timedelta(days=1)

    asyncio.run(scenario())
    capsys.readouterr()
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    # one alert; the latest grade (user 8: relevant) is its label
    assert (
        "topic North Korea, 7 days: 1 sent, 1 graded, precision 1.00 (95 % interval 0.21-1.00)"
        in out
    )
    store = open_store(env)
    try:
        assert store.grades.articles()[0][2:] == (("North Korea",), "relevant")
    finally:
        store.close()

    candidate = directory / "candidate.yaml"
    candidate.write_text(yaml.safe_dump({"topics": [{"name": "North Korea", "query": "Schnee*"}]}))
    assert main(["backtest", "--topics", str(candidate)]) == 0
    out = capsys.readouterr().out
    assert "current topics against 1 graded articles: precision 1.000, recall 1.000" in out
    assert "candidate topics against 1 graded articles: precision -, recall 0.000" in out
    assert "lost (graded relevant): Nordkoreas Soldaten in Kursk" in out

    exported = directory / "graded.yaml"
    assert main(["labels", "export", "--out", str(exported)]) == 0
    [case] = yaml.safe_load(exported.read_text())
    assert case["labels"] == ["North Korea"] and case["kind"] == "graded"
    bench = subprocess.run(
        [
            sys.executable,
            "bench/quality/run.py",
            "--cases",
            str(exported),
            "--topics",
            str(directory / "topics.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert bench.returncode == 0, bench.stderr
    assert re.search(r"^overall +1 +0 +0 +1.000 +1.000", bench.stdout, re.M), bench.stdout
