"""Delivery: nothing is lost to a crash, the bot token never leaks, Telegram's rules hold."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.commands import Desk, Request
from monitor.config import Config
from monitor.models import Alert, Article, Entry, Span
from monitor.render import MAX_MESSAGE_UNITS, DigestItem, digest_parts, render_html, utf16_len
from monitor.store import NewEntry, Store
from tests.conftest import TOKEN, TROOPS_PARAGRAPHS, WriteConfig, article_page, rss
from tests.servers import ContentServer, FakeTelegram, check_telegram_html

TITLE = "Nordkoreas Soldaten in Kursk"


def run_monitor(
    env: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `python -m monitor` in a child process with exactly `env` added."""
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def alert_statuses(state_dir: str) -> list[str]:
    engine = sa.create_engine(f"sqlite:///{Path(state_dir) / 'monitor.sqlite'}")
    with engine.connect() as conn:
        statuses = list(conn.scalars(sa.text("SELECT status FROM alerts ORDER BY id")))
    engine.dispose()
    return statuses


def test_killed_between_storing_and_sending_loses_nothing(
    env: dict[str, str], write_config: WriteConfig, content: ContentServer, telegram: FakeTelegram
) -> None:
    page = content.add("/troops", article_page(TITLE, TROOPS_PARAGRAPHS), "text/html")
    write_config(
        [{"name": "Outlet", "url": content.add("/feed.xml", rss([{"title": TITLE, "link": page}]))}]
    )
    child_env = {**env, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": telegram.url}
    telegram.hang.set()  # sendMessage is received but never answered

    child = subprocess.Popen(
        [sys.executable, "-m", "monitor", "once"],
        env={**os.environ, **child_env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert telegram.received.wait(60), "the alert never reached the Bot API"
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(10)
    assert telegram.messages == []
    assert alert_statuses(env["MONITOR_STATE_DIR"]) == ["pending"]

    telegram.hang.clear()
    result = run_monitor(child_env, "once")
    assert result.returncode == 0, result.stderr
    assert [m["visible"].splitlines()[1] for m in telegram.messages] == [TITLE]
    assert alert_statuses(env["MONITOR_STATE_DIR"]) == ["sent"]


def test_token_never_appears_in_output_even_at_debug(
    env: dict[str, str], write_config: WriteConfig, content: ContentServer, telegram: FakeTelegram
) -> None:
    page = content.add("/troops", article_page(TITLE, TROOPS_PARAGRAPHS), "text/html")
    write_config(
        [{"name": "Outlet", "url": content.add("/feed.xml", rss([{"title": TITLE, "link": page}]))}]
    )
    child_env = {
        **env,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": telegram.url,
        "MONITOR_LOG_LEVEL": "DEBUG",
    }
    telegram.retry_after = 1  # one 429 on the way

    result = run_monitor(child_env, "once")

    assert result.returncode == 0, result.stderr
    assert len(telegram.messages) == 1
    assert TOKEN not in result.stdout + result.stderr
    assert TOKEN.split(":")[1] not in result.stdout + result.stderr


def test_rejected_token_is_reported_without_the_token(
    env: dict[str, str], write_config: WriteConfig
) -> None:
    write_config([{"name": "Outlet", "url": "http://127.0.0.1:9/feed.xml"}])
    with FakeTelegram("999:someone-elses-token-abcdefghijklmnop") as other:
        result = run_monitor(
            {
                **env,
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_API_URL": other.url,
                "MONITOR_LOG_LEVEL": "DEBUG",
            },
            "once",
        )
    assert result.returncode == 1
    assert "Telegram rejected the bot token" in result.stderr
    assert TOKEN not in result.stdout + result.stderr
    assert TOKEN.split(":")[1] not in result.stdout + result.stderr


def test_unreachable_bot_api_is_reported_without_the_token(
    env: dict[str, str], write_config: WriteConfig
) -> None:
    write_config([{"name": "Outlet", "url": "http://127.0.0.1:9/feed.xml"}])
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = run_monitor(
        {
            **env,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": f"http://127.0.0.1:{port}",
            "MONITOR_LOG_LEVEL": "DEBUG",
        },
        "once",
    )
    assert result.returncode == 1
    assert "cannot reach the Telegram Bot API" in result.stderr
    assert TOKEN.split(":")[1] not in result.stdout + result.stderr


def make_alert(**changes: object) -> Alert:
    values: dict[str, object] = {
        "chat": "default",
        "chat_id": "-100",
        "title": 'Raketen & Granaten: "Lieferung" <bestätigt>',
        "link": 'https://example.org/a?x=1&y="2"',
        "outlet": "SPIEGEL",
        "published": datetime(2024, 12, 16, 9, 30, tzinfo=UTC),
        "topics": ("Missiles",),
        "snippet": "Nordkorea liefert <Raketen> & Granaten an Russland.",
        "highlights": (Span(0, 9), Span(42, 50)),
        "from_page": True,
    }
    values.update(changes)
    return Alert(**values)  # type: ignore[arg-type]


def test_rendered_alert_is_valid_telegram_html() -> None:
    text = render_html(make_alert())
    error, visible = check_telegram_html(text)
    assert error is None
    assert 'Raketen & Granaten: "Lieferung" <bestätigt>' in visible
    assert "SPIEGEL · 16.12.2024 10:30 CET" in visible  # Europe/Berlin
    assert "<b>Nordkorea</b>" in text and "<b>Russland</b>" in text
    assert "&lt;Raketen&gt; &amp; Granaten" in text


def test_long_snippet_with_emoji_fits_telegram_limit() -> None:
    snippet = "🚀 Nordkorea " * 2000
    text = render_html(make_alert(snippet=snippet, highlights=(Span(2, 11),)))
    error, visible = check_telegram_html(text)
    assert error is None
    assert utf16_len(visible) <= MAX_MESSAGE_UNITS
    assert visible.endswith("…")


def test_summary_fallback_is_said_in_the_alert() -> None:
    _, visible = check_telegram_html(render_html(make_alert(from_page=False)))
    assert "Matched on the feed's summary" in visible


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,<b>x</b>",
        "/relative",
        "",
        "http://[::1/x",
        "http://127.0.0.1:99999/x",
    ],
)
def test_only_http_links_become_hrefs_anything_else_is_text(link: str) -> None:
    unsafe = make_alert(link=link)
    source = make_alert(outlet="taz", link=link)
    for text in (
        render_html(unsafe, [source]),
        digest_parts([DigestItem(alert=unsafe, sources=(source,))], "Digest")[0].html,
    ):
        error, visible = check_telegram_html(text)
        assert error is None
        assert "href" not in text
        assert 'Raketen & Granaten: "Lieferung" <bestätigt>' in visible and "taz" in visible
    assert 'href="https://example.org/a?x=1&amp;y=&quot;2&quot;"' in render_html(make_alert())


def test_recent_and_search_show_an_unsafe_link_as_text(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'monitor.sqlite'}")
    now = datetime.now(UTC)
    items = []
    for number, link in enumerate(["javascript:alert(1)", "https://example.org/ok"]):
        entry = Entry("Outlet", f"g{number}", link, f"Kursk {number}", "", now)
        alert = make_alert(title=f"Kursk {number}", link=link, chat="default")
        keys = (f"guid:Outlet:g{number}",)
        items.append(NewEntry(entry, keys, Article(entry, "Soldaten in Kursk", True), (alert,)))
    store.entries.record("Outlet", items, now)
    store.outbox.mark_sent([pending.id for pending in store.outbox.pending(now)], "1", now)
    desk = Desk(store, lambda: Config((), (), {"default": "-100"}))
    for command, args in (("recent", ()), ("search", ("kursk",))):
        [reply] = asyncio.run(desk.answer(Request("default", command, args)))
        error, visible = check_telegram_html(reply)
        assert error is None and "Kursk 0" in visible and "Kursk 1" in visible
        assert "javascript" not in reply
        assert '<a href="https://example.org/ok">Kursk 1</a>' in reply
    store.close()
