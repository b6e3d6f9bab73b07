"""Bursts: many alerts for one chat at once go out as one grouped message that notifies once,
and later reports of its stories still edit it or reply to it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.commands import Desk, Request
from monitor.config import load_config
from monitor.dedup import entry_keys
from monitor.deliver import deliver_pending
from monitor.digest import Burst, ChatRules
from monitor.models import Alert, Article, Entry
from monitor.pacer import Pacer
from monitor.store import NewEntry, Store
from monitor.telegram_sink import TelegramSink
from tests.conftest import GROUP_CHAT, TOKEN, WriteConfig
from tests.servers import FakeTelegram

CHATS = {"default": GROUP_CHAT}


def record(store: Store, n: int, story: str, kind: str = "new", thread: str | None = None) -> None:
    """Queue one alert for `default`: report `n` of `story`, falling due now (a burst counts
    alerts due within the last minute, so not at import time)."""
    now = datetime.now(UTC)
    item = Entry("Outlet", None, f"https://e.org/{n}", f"Bericht {n} zu {story}", "s", now)
    alert = Alert(
        "default", GROUP_CHAT, item.title, item.link, "Outlet", now, ("Troops",), "Text", (), True
    )
    article = Article(item, "Text", True)
    entry = NewEntry(item, entry_keys(item), article, (alert,), story, kind, thread)
    store.entries.record("Outlet", [entry], now)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'monitor.sqlite'}")
    yield opened
    opened.close()


def deliver(
    store: Store, telegram: FakeTelegram, rules: ChatRules | None = None, buttons: bool = False
) -> int:
    async def go() -> int:
        sink = TelegramSink(
            TOKEN, telegram.url, Pacer(0, 0), (lambda chat: True) if buttons else None
        )
        await sink.start()
        try:
            return await deliver_pending(
                store,
                sink,
                datetime.now(UTC),
                CHATS,
                timedelta(hours=48),
                rules={"default": rules} if rules else None,
            )
        finally:
            await sink.stop()

    return asyncio.run(go())


def test_a_burst_notifies_once_and_its_stories_still_edit_and_reply(
    store: Store, telegram: FakeTelegram
) -> None:
    for n in range(8):
        record(store, n, f"story-{n}")
    record(store, 8, "story-3", kind="same")  # a second outlet, in the same burst
    assert deliver(store, telegram) == 9
    assert len(telegram.messages) == 1, "eight stories at once are one message"
    group = telegram.messages[0]
    lines = group["visible"].splitlines()
    assert lines[0].startswith("9 new reports since ")
    assert all(f"Bericht {n} zu story-{n}" in group["visible"] for n in range(8))
    assert "Bericht 8 zu story-3" not in group["visible"]  # listed under its story, by outlet
    group_outlets = group["visible"].count("Outlet")

    record(store, 9, "story-5", kind="same")  # later: the same report from elsewhere
    assert deliver(store, telegram) == 1
    assert len(telegram.messages) == 1, "a same-story report is no new notification"
    assert telegram.edits[-1]["message_id"] == group["message_id"]
    edited = telegram.messages[0]["visible"]  # the fake keeps a message as last edited
    assert edited.splitlines()[0] == lines[0]  # the same title
    assert all(f"Bericht {n} zu story-{n}" in edited for n in range(8))
    assert edited.count("Outlet") > group_outlets  # the new source is listed

    record(store, 10, "story-7b", kind="followup", thread="story-7")  # a new development
    assert deliver(store, telegram) == 1
    reply = telegram.messages[-1]
    assert reply["reply_to"] == group["message_id"]
    assert "Bericht 10 zu story-7b" in reply["visible"]


def test_a_few_alerts_or_a_chat_without_bursts_get_one_message_each(
    store: Store, telegram: FakeTelegram
) -> None:
    for n in range(5):  # the threshold is "more than 5"
        record(store, n, f"story-{n}")
    assert deliver(store, telegram) == 5
    assert len(telegram.messages) == 5

    for n in range(5, 15):
        record(store, n, f"story-{n}")
    assert deliver(store, telegram, ChatRules(burst=None)) == 10
    assert len(telegram.messages) == 15


def test_only_alerts_due_within_the_window_make_a_burst(
    store: Store, telegram: FakeTelegram
) -> None:
    for n in range(3):
        record(store, n, f"story-{n}")
    rules = ChatRules(burst=Burst(threshold=2, window=timedelta(seconds=60)))
    later = datetime.now(UTC) + timedelta(minutes=5)  # all fell due 5 minutes before this round

    async def go() -> int:
        sink = TelegramSink(TOKEN, telegram.url, Pacer(0, 0))
        await sink.start()
        try:
            return await deliver_pending(
                store, sink, later, CHATS, timedelta(hours=48), rules={"default": rules}
            )
        finally:
            await sink.stop()

    assert asyncio.run(go()) == 3
    assert len(telegram.messages) == 3


def test_why_on_a_grouped_message_explains_the_report_asked_for(
    store: Store, telegram: FakeTelegram, write_config: WriteConfig
) -> None:
    for n in range(8):
        record(store, n, f"story-{n}")
    deliver(store, telegram)
    group_id = telegram.messages[0]["message_id"]
    config = load_config(
        write_config([], topics=[{"name": "Troops", "query": "Bericht*", "chats": ["default"]}])
    )
    desk = Desk(store, lambda: config)

    def why(*args: str) -> str:
        request = Request("default", "why", args, reply_to=group_id)
        return "\n".join(asyncio.run(desk.answer(request)))

    listing = why()
    assert "This message groups 8 reports" in listing and "4. Bericht 3 zu story-3" in listing
    explained = why("4")
    assert explained.startswith("<b>Bericht 3 zu story-3</b>")
    assert "Troops: MATCH" in explained
    assert "This message groups 8 reports" in why("99")


def test_a_grouped_message_carries_the_buttons_and_is_graded_as_a_whole(
    store: Store, telegram: FakeTelegram
) -> None:
    for n in range(7):
        record(store, n, f"story-{n}")
    deliver(store, telegram, buttons=True)
    [group] = telegram.messages
    assert "grade:relevant" in group["reply_markup"]
    graded = store.grades.record(
        "default", group["message_id"], 777, "irrelevant", datetime.now(UTC)
    )
    assert len(graded) == 7
    record(store, 7, "story-3", kind="same")  # the edit keeps the buttons
    deliver(store, telegram, buttons=True)
    assert "grade:relevant" in telegram.edits[-1]["reply_markup"]
