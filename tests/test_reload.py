"""Hot reload while `monitor run` runs: feeds added, a topic removed, a broken edit kept out."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.app import App
from monitor.config import Settings, load_config
from monitor.store import Store
from tests.conftest import (
    GROUP_CHAT,
    SHELLS_PARAGRAPHS,
    TOKEN,
    TROOPS_PARAGRAPHS,
    WEATHER_PARAGRAPHS,
    WriteConfig,
    article_page,
    rss,
    wait_until,
)
from tests.servers import ContentServer, FakeTelegram
from tests.test_probes import free_port, get, sample

TOPICS = [
    {"name": "North Korea", "query": "Nordkorea*"},
    {"name": "Weather", "query": "Schnee* OR Neuschnee"},
]


@pytest.mark.slow
def test_feeds_and_topics_reload_while_running_and_a_broken_edit_is_kept_out(
    env: dict[str, str], write_config: WriteConfig, content: ContentServer
) -> None:
    def feed(name: str, path: str, title: str, paragraphs: list[str]) -> dict[str, Any]:
        page = content.add(f"/{path}", article_page(title, paragraphs), "text/html")
        url = content.add(f"/{path}.xml", rss([{"title": title, "link": page}]))
        return {"name": name, "url": url, "interval": 300}

    a = feed("A", "troops", "Nordkoreas Soldaten in Kursk", TROOPS_PARAGRAPHS)
    b = feed("B", "snow", "Schnee im Harz", WEATHER_PARAGRAPHS)
    c = feed("C", "snow2", "Neuschnee im Erzgebirge", WEATHER_PARAGRAPHS)
    d = feed("D", "shells", "Nordkorea liefert Granaten", SHELLS_PARAGRAPHS)
    directory = write_config([a], topics=TOPICS)
    state = Path(env["MONITOR_STATE_DIR"])
    alerts_file = state / "alerts.jsonl"

    def titles() -> list[str]:
        if not alerts_file.exists():
            return []
        return [json.loads(line)["title"] for line in alerts_file.read_text().splitlines()]

    def write(name: str, document: object) -> None:
        (directory / name).write_text(yaml.safe_dump(document, allow_unicode=True))

    def polled(feed_name: str) -> bool:
        store = Store.open(f"sqlite:///{state / 'monitor.sqlite'}")
        try:
            found = store.feeds.state(feed_name)
        finally:
            store.close()
        return found is not None and found.last_success_at is not None

    port = free_port()
    metrics_url = f"http://127.0.0.1:{port}/metrics"

    def reloads(outcome: str) -> float:
        return sample(get(metrics_url)[1], "monitor_config_reloads_total", outcome=outcome)

    child = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run"],
        env={**os.environ, **env, "MONITOR_HTTP_LISTEN": f"127.0.0.1:{port}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: "Nordkoreas Soldaten in Kursk" in titles(), "the first alert")

        write("feeds.yaml", {"feeds": [a, b]})  # add a feed
        wait_until(lambda: "Schnee im Harz" in titles(), "the added feed's alert")

        write("topics.yaml", {"topics": TOPICS[:1]})  # remove a topic ...
        write("feeds.yaml", {"feeds": [a, b, c]})  # ... and add a feed only it would match
        wait_until(lambda: polled("C"), "the feed added with the topic removal")

        (directory / "topics.yaml").write_text("topics:\n  - name: [broken\n")
        write("feeds.yaml", {"feeds": [a, b, c, d]})
        wait_until(lambda: reloads("failed") >= 1, "the broken edit to be refused")
        time.sleep(2.5)  # another look at config/ passes: still refused, D not polled
        assert not polled("D")
        assert child.poll() is None, "a broken edit must not stop the service"

        write("topics.yaml", {"topics": TOPICS[:1]})  # fixed: the pending feed edit applies
        wait_until(lambda: "Nordkorea liefert Granaten" in titles(), "the alert after the fix")

        before = reloads("ok")
        child.send_signal(signal.SIGHUP)
        wait_until(lambda: reloads("ok") > before, "a reload on SIGHUP")
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    assert sorted(titles()) == sorted(
        ["Nordkoreas Soldaten in Kursk", "Schnee im Harz", "Nordkorea liefert Granaten"]
    ), "each alert exactly once, none for the removed topic"
    assert "config reload (files changed) refused, keeping the last good config: topics.yaml" in err
    assert "feeds added: B" in err and "topics removed: Weather" in err
    assert "config reloaded (SIGHUP)" in err
    assert "Traceback" not in err


def test_a_refused_reload_is_told_to_the_operator_chat(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    telegram: FakeTelegram,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_URL", telegram.url)
    content.add("/feed.xml", rss([]))
    directory = write_config(
        [{"name": "A", "url": content.url("/feed.xml")}],
        topics=TOPICS,
        chats={"default": {"id": int(GROUP_CHAT), "operator": True}},
    )
    settings = Settings.from_env(os.environ)

    async def scenario() -> tuple[bool, bool]:
        async with App(settings, load_config(directory)) as app:
            (directory / "topics.yaml").write_text("topics:\n  - name: x\n    query: (a\n")
            refused, _ = await app.reload("test")
            write_config(
                [{"name": "A", "url": content.url("/feed.xml")}],
                topics=TOPICS[:1],
                chats={"default": {"id": int(GROUP_CHAT), "operator": True}},
            )
            applied, _ = await app.reload("test")
            return refused, applied

    refused, applied = asyncio.run(scenario())
    assert (refused, applied) == (False, True)
    texts = [message["visible"] for message in telegram.messages]
    assert texts[0].startswith("Configuration change refused")
    assert "topics.yaml: topics[0].query: col 1: unbalanced parenthesis" in texts[0]
    assert texts[1].startswith("Configuration reloaded: topics removed: Weather")
    assert all(TOKEN not in text for text in texts)
