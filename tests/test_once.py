"""`monitor once` delivers everything it queued, paced, and says what it could not."""

from __future__ import annotations

import time

import pytest

from monitor.cli import main
from tests.conftest import WriteConfig, open_store
from tests.servers import ContentServer, FakeTelegram
from tests.test_telegram_rules import serve


def test_once_drains_the_outbox_within_telegrams_rules(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    bot: FakeTelegram,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    serve(content, write_config, 60)
    # The documented setting, shortened from 3 s so the test is quick; the fake Bot API answers
    # 429 to anything closer than 0.05 s in one chat.
    monkeypatch.setenv("MONITOR_TELEGRAM_GROUP_INTERVAL", "0.1")
    bot.chat_interval = 0.05
    assert main(["once"]) == 0
    assert len(bot.messages) == 60 and bot.rate_violations == 0
    store = open_store(env)
    try:
        assert store.alert_counts().get("pending", 0) == 0
    finally:
        store.close()


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
