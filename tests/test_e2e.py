"""End to end: local feed and page server -> `monitor once` -> fake Telegram Bot API."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.cli import main
from monitor.store.schema import entries
from tests.conftest import (
    GROUP_CHAT,
    SHELLS_PARAGRAPHS,
    TOKEN,
    TROOPS_PARAGRAPHS,
    WEATHER_PARAGRAPHS,
    WriteConfig,
    article_page,
    open_store,
    rss,
)
from tests.servers import ContentServer, FakeTelegram

TROOPS_TITLE = "Weitere Soldaten aus Nordkorea in Kursk eingetroffen"
WEATHER_TITLE = "Schnee im Harz & Erzgebirge erwartet"
SHELLS_TITLE = "Pjöngjang liefert Moskau Granaten <und> Raketen"


def serve_two_outlets(content: ContentServer) -> tuple[str, str]:
    """Serve feed A (a matching and a non-matching article) and feed B (a matching one)."""
    troops = content.add("/a/troops", article_page(TROOPS_TITLE, TROOPS_PARAGRAPHS), "text/html")
    weather = content.add(
        "/a/weather", article_page(WEATHER_TITLE, WEATHER_PARAGRAPHS), "text/html"
    )
    shells = content.add("/b/shells", article_page(SHELLS_TITLE, SHELLS_PARAGRAPHS), "text/html")
    feed_a = content.add(
        "/a/feed.xml",
        rss([{"title": TROOPS_TITLE, "link": troops}, {"title": WEATHER_TITLE, "link": weather}]),
    )
    feed_b = content.add(
        "/b/feed.xml",
        rss([{"title": SHELLS_TITLE, "link": shells + "?utm_source=rss", "guid": "b-1"}]),
    )
    return feed_a, feed_b


def test_once_sends_one_message_per_matching_article_and_nothing_twice(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    telegram: FakeTelegram,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    feed_a, feed_b = serve_two_outlets(content)
    write_config([{"name": "Outlet A", "url": feed_a}, {"name": "Outlet B", "url": feed_b}])
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_URL", telegram.url)

    assert main(["once"]) == 0

    assert telegram.errors == []
    assert "getMe" in telegram.calls
    by_title = {m["visible"].splitlines()[1]: m for m in telegram.messages}
    assert set(by_title) == {TROOPS_TITLE, SHELLS_TITLE}
    troops = by_title[TROOPS_TITLE]
    assert troops["chat_id"] == GROUP_CHAT
    assert troops["parse_mode"] == "HTML"
    assert f'<a href="{content.url("/a/troops")}">' in troops["text"]
    assert "North Korean troops in Russia" in troops["visible"]
    assert "Outlet A" in troops["visible"]
    assert "<b>" in troops["text"].split("\n\n", 1)[1]  # matched words in bold in the snippet
    shells = by_title[SHELLS_TITLE]
    assert "North Korean missiles and shells for Russia" in shells["visible"]
    assert "&lt;und&gt;" in shells["text"]  # the title's markup is escaped, not interpreted
    assert "Outlet B" in shells["visible"]

    assert main(["once"]) == 0
    assert len(telegram.messages) == 2
    assert TOKEN not in capsys.readouterr().err


def test_console_sink_without_token(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    feed_a, feed_b = serve_two_outlets(content)
    write_config([{"name": "Outlet A", "url": feed_a}, {"name": "Outlet B", "url": feed_b}])

    assert main(["once"]) == 0

    out = capsys.readouterr().out
    assert TROOPS_TITLE in out and SHELLS_TITLE in out and WEATHER_TITLE not in out
    lines = (Path(env["MONITOR_STATE_DIR"]) / "alerts.jsonl").read_text().splitlines()
    assert len(lines) == 2


def test_a_relative_item_link_is_followed_against_the_feed_url(
    env: dict[str, str], write_config: WriteConfig, content: ContentServer
) -> None:
    content.add("/news/troops", article_page(TROOPS_TITLE, TROOPS_PARAGRAPHS), "text/html")
    feed = content.add("/feeds/all.xml", rss([{"title": TROOPS_TITLE, "link": "/news/troops"}]))
    write_config([{"name": "Outlet", "url": feed}])
    assert main(["once"]) == 0
    [line] = (Path(env["MONITOR_STATE_DIR"]) / "alerts.jsonl").read_text().splitlines()
    alert = json.loads(line)
    assert alert["link"] == content.url("/news/troops")  # a link the reader can follow
    assert alert["from_page"] is True  # and the page itself was read


def test_first_poll_records_old_items_without_alerting(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old = datetime.now(UTC) - timedelta(hours=30)
    troops = content.add("/troops", article_page(TROOPS_TITLE, TROOPS_PARAGRAPHS), "text/html")
    shells = content.add("/shells", article_page(SHELLS_TITLE, SHELLS_PARAGRAPHS), "text/html")
    feed = content.add(
        "/feed.xml",
        rss(
            [
                {"title": TROOPS_TITLE, "link": troops, "date": old},
                {"title": SHELLS_TITLE, "link": shells},
            ]
        ),
    )
    write_config([{"name": "Outlet", "url": feed}])

    assert main(["once"]) == 0

    captured = capsys.readouterr()
    assert SHELLS_TITLE in captured.out and TROOPS_TITLE not in captured.out
    assert "1 older items skipped" in captured.err
    assert [path for path, _ in content.requests].count("/troops") == 0  # old items cost nothing


def test_only_new_items_are_parsed_and_a_body_seen_before_not_at_all(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old = datetime.now(UTC) - timedelta(hours=30)
    backlog = [
        {"title": f"Ältere Meldung {n}", "link": content.url(f"/old/{n}"), "date": old}
        for n in range(3)
    ]
    feed = content.add("/feed.xml", rss(backlog))  # no validators: every poll gets the body
    write_config([{"name": "Outlet", "url": feed}])

    assert main(["once"]) == 0
    assert "3 older items skipped" in capsys.readouterr().err
    assert main(["once"]) == 0
    assert "feed Outlet: the same body as last time; not parsed" in capsys.readouterr().err

    troops = content.add("/troops", article_page(TROOPS_TITLE, TROOPS_PARAGRAPHS), "text/html")
    content.add("/feed.xml", rss([{"title": TROOPS_TITLE, "link": troops}, *backlog]))
    assert main(["once"]) == 0

    captured = capsys.readouterr()
    assert TROOPS_TITLE in captured.out
    assert "feed Outlet: 1 new items, 1 alerts queued" in captured.err
    assert not any(path.startswith("/old/") for path, _ in content.requests)
    with contextlib.closing(open_store(env)) as store, store.engine.connect() as conn:
        stored = dict(conn.execute(sa.select(entries.c.title, entries.c.text)).all())
    # The backlog was recorded from the pre-scan alone: its titles, no text.
    assert set(stored) == {item["title"] for item in backlog} | {TROOPS_TITLE}
    assert all(stored[item["title"]] is None for item in backlog)
    assert "Kursk" in stored[TROOPS_TITLE]


def test_unreachable_article_falls_back_to_feed_summary(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    summary = "Nordkoreanische Truppen sollen in der russischen Region Kursk eingesetzt werden."
    feed = content.add(
        "/feed.xml",
        rss(
            [
                {
                    "title": "Truppen aus Nordkorea",
                    "link": content.url("/gone"),
                    "description": summary,
                }
            ]
        ),
    )
    write_config([{"name": "Outlet", "url": feed}])

    assert main(["once"]) == 0

    out = capsys.readouterr().out
    assert "Truppen aus Nordkorea" in out
    assert "**Kursk**" in out or "**Truppen**" in out


def test_private_article_links_are_refused_by_default(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("MONITOR_ALLOW_PRIVATE_NETWORKS")
    summary = "Nordkoreanische Truppen kämpfen an der Seite Russlands in Kursk."
    page = content.add("/troops", article_page(TROOPS_TITLE, TROOPS_PARAGRAPHS), "text/html")
    feed = content.add(
        "/feed.xml", rss([{"title": TROOPS_TITLE, "link": page, "description": summary}])
    )
    write_config([{"name": "Outlet", "url": feed}])  # the feed itself is operator-trusted

    assert main(["once"]) == 0

    captured = capsys.readouterr()
    assert [path for path, _ in content.requests] == ["/feed.xml"]
    assert "non-public address 127.0.0.1" in captured.err
    assert TROOPS_TITLE in captured.out and "Kursk" in captured.out
    assert "matched on the feed's summary" in captured.out


@pytest.mark.parametrize(
    ("page", "said"),
    [
        (
            '<html><body><div id="sp_message_container_1">Wir brauchen Ihre Zustimmung. '
            "<button>Zustimmen und weiter</button></div><script>var zonconsent;</script></body></html>",
            "the article is behind a consent wall",
        ),
        (
            "<html><body><h1>Kim und Putin</h1><p>Ein kurzer Anriss.</p>"
            '<div data-area="paywall">Jetzt weiterlesen mit SPIEGEL+</div></body></html>',
            "the article is behind a paywall",
        ),
    ],
    ids=["consent wall", "paywall"],
)
def test_walled_pages_alert_from_the_summary_and_say_why(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    telegram: FakeTelegram,
    monkeypatch: pytest.MonkeyPatch,
    page: str,
    said: str,
) -> None:
    summary = "Nordkoreanische Soldaten kämpfen an der Seite russischer Truppen im Gebiet Kursk."
    link = content.add("/walled", page, "text/html")
    write_config(
        [
            {
                "name": "Outlet",
                "url": content.add(
                    "/feed.xml",
                    rss([{"title": TROOPS_TITLE, "link": link, "description": summary}]),
                ),
            }
        ]
    )
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_URL", telegram.url)

    assert main(["once"]) == 0

    [message] = telegram.messages
    assert f"Matched on the feed's summary: {said}." in message["visible"]
    assert "<b>Kursk</b>" in message["text"]


def test_an_item_whose_link_is_no_url_does_not_stop_its_feed(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    summary = "Nordkoreanische Truppen sollen in der russischen Region Kursk eingesetzt werden."
    content.add("/news/troops", article_page(TROOPS_TITLE, TROOPS_PARAGRAPHS), "text/html")
    items = [
        {"title": "Truppen aus Nordkorea", "link": "http://[::1/x", "description": summary},
        {"title": "Kursk: Truppen", "link": "http://127.0.0.1:99999/x", "description": summary},
        {"title": TROOPS_TITLE, "link": content.url("/news/troops")},
    ]
    write_config([{"name": "Outlet", "url": content.add("/feed.xml", rss(items))}])
    assert main(["once"]) == 0
    assert "polled 1 feeds (0 failed): 3 new items" in capsys.readouterr().err
    lines = (Path(env["MONITOR_STATE_DIR"]) / "alerts.jsonl").read_text().splitlines()
    titles = {json.loads(line)["title"] for line in lines}
    assert TROOPS_TITLE in titles  # the good item is not held up by the broken ones
    assert "Truppen aus Nordkorea" in titles  # a broken link still alerts, from the summary
    assert main(["once"]) == 0  # and nothing is new the second time
    assert "0 new items" in capsys.readouterr().err
