"""`monitor once` delivers everything it queued, paced, and says what it could not."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from monitor.cli import main
from tests.conftest import GROUP_CHAT, WriteConfig, open_store, rss
from tests.servers import ContentServer, FakeTelegram
from tests.test_telegram_rules import distinct_reports, serve


@pytest.mark.parametrize("burst", [None, False])
def test_once_drains_the_outbox_within_telegrams_rules(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    bot: FakeTelegram,
    monkeypatch: pytest.MonkeyPatch,
    burst: bool | None,
) -> None:
    chat = {"id": int(GROUP_CHAT)} if burst is None else {"id": int(GROUP_CHAT), "burst": burst}
    serve(content, write_config, 60, default=chat)
    # The documented setting, shortened from 3 s so the test is quick; the fake Bot API answers
    # 429 to anything closer than 0.03 s in one chat (sends leave 0.1 s apart, but on a loaded
    # machine the fake's threads may take one late and the next on time).
    monkeypatch.setenv("MONITOR_TELEGRAM_GROUP_INTERVAL", "0.1")
    bot.chat_interval = 0.03
    assert main(["once"]) == 0
    assert bot.rate_violations == 0
    titles = {title for title, _ in distinct_reports(60)}
    store = open_store(env)
    try:
        assert store.outbox.counts().get("pending", 0) == 0
    finally:
        store.close()
    if burst is False:  # one message per report
        assert sorted(m["visible"].splitlines()[1] for m in bot.messages) == sorted(titles)
        return
    # the default: 60 reports at once are a burst, sent as numbered parts that notify once
    assert 1 < len(bot.messages) < 20
    shown = "\n".join(m["visible"] for m in bot.messages)
    assert all(title in shown for title in titles)
    first, *rest = bot.messages
    assert first["visible"].startswith("60 new reports since ")
    assert first["visible"].splitlines()[0].endswith(f"(1/{len(bot.messages)})")
    assert first.get("disable_notification") in (None, "False", "false")
    assert all(m.get("disable_notification") in ("True", "true") for m in rest)


def test_once_leaves_only_what_telegram_will_not_take_now_and_says_why(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    bot: FakeTelegram,
    capsys: pytest.CaptureFixture[str],
) -> None:
    serve(content, write_config, 3)
    bot.retry_after = 600  # Telegram asks for ten minutes: not waited out in a round
    started = time.monotonic()
    assert main(["once"]) == 0
    assert time.monotonic() - started < 60
    err = capsys.readouterr().err
    assert "3 alerts still pending" in err
    assert (
        "chat default: 3 not delivered (Telegram asks to wait 600 s (RetryAfter); next try" in err
    )
    assert not bot.messages


def test_deliver_for_must_be_a_duration(
    env: dict[str, str], write_config: WriteConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config([])
    with pytest.raises(SystemExit):
        main(["once", "--deliver-for", "soon"])
    assert "'soon' is not a duration" in capsys.readouterr().err


# What a round of unchanged feeds must not load: the feed parsers, the worker processes, the
# page extractor, NumPy (the matcher's prefilter), the OPML reader, the Telegram client.
NOT_FOR_UNCHANGED_FEEDS = (
    "monitor.parse",
    "feedparser",
    "lxml.etree",
    "multiprocessing",
    "concurrent.futures.process",
    "trafilatura",
    "numpy",
    "monitor.opml",
    "telegram",
)


def test_a_round_of_unchanged_feeds_imports_no_parser_worker_or_extractor(
    env: dict[str, str], write_config: WriteConfig, content: ContentServer
) -> None:
    feed = rss([{"title": "Soldaten aus Nordkorea in Kursk", "link": content.url("/a")}])
    write_config([{"name": "Feed", "url": content.add("/feed.xml", feed, etag='"v1"')}])
    assert main(["once"]) == 0  # the first poll reads the feed

    # The second, in a fresh interpreter as `monitor once` runs: the server answers 304.
    script = (
        "import sys; from monitor.cli import main; code = main(['once']); "
        "print(code, *sorted(sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    code, *modules = done.stdout.split()
    assert code == "0", done.stderr
    assert content.requests[-1][1].get("If-None-Match") == '"v1"'  # answered 304
    assert "polled 1 feeds (0 failed): 0 new items" in done.stderr
    assert [name for name in NOT_FOR_UNCHANGED_FEEDS if name in modules] == []
