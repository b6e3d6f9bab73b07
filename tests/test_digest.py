"""Digests and quiet hours: when alerts are held, how a digest is laid out, and end to end."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor.cli import main
from monitor.config import load_config
from monitor.deliver import deliver_pending
from monitor.digest import ChatRules, digest_interval, plan, quiet_end, slot_end
from monitor.models import Alert, Span
from monitor.pacer import Pacer
from monitor.render import MAX_MESSAGE_UNITS, DigestItem, digest_parts, utf16_len
from monitor.telegram_sink import TelegramSink
from tests.conftest import (
    GROUP_CHAT,
    TOKEN,
    WriteConfig,
    article_page,
    needs_shared,
    open_store,
    rss,
)
from tests.servers import ContentServer, FakeTelegram, check_telegram_html
from tests.test_stories import publish, seed, two_outlets
from tests.test_telegram_rules import distinct_reports

BERLIN = ZoneInfo("Europe/Berlin")
NIGHT = ChatRules(quiet=(time(22), time(7)))


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN)


def test_quiet_hours_that_wrap_midnight_end_the_next_morning() -> None:
    assert quiet_end(NIGHT, berlin(24, 23, 30)) == berlin(25, 7)
    assert quiet_end(NIGHT, berlin(25, 6, 59)) == berlin(25, 7)
    assert quiet_end(NIGHT, berlin(25, 22)) == berlin(26, 7)
    assert quiet_end(NIGHT, berlin(25, 7)) is None
    assert quiet_end(NIGHT, berlin(25, 21, 59)) is None
    lunch = ChatRules(quiet=(time(12), time(13)), timezone="Asia/Tokyo")
    noon_tokyo = datetime(2026, 11, 24, 12, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert quiet_end(lunch, noon_tokyo) == noon_tokyo.replace(hour=13, minute=0)
    assert quiet_end(lunch, noon_tokyo.replace(hour=11)) is None


def test_digest_slots_are_local_midnight_plus_whole_intervals() -> None:
    assert slot_end(berlin(24, 9, 17), timedelta(hours=1), BERLIN) == berlin(24, 10)
    assert slot_end(berlin(24, 10), timedelta(hours=1), BERLIN) == berlin(24, 11)
    assert slot_end(berlin(24, 9, 17), timedelta(minutes=30), BERLIN) == berlin(24, 9, 30)
    assert slot_end(berlin(24, 9, 17), timedelta(days=1), BERLIN) == berlin(25, 0)
    assert slot_end(berlin(24, 9, 17), timedelta(hours=8), BERLIN) == berlin(24, 16)


def test_the_chat_interval_wins_and_an_immediate_topic_keeps_an_alert_immediate() -> None:
    topics = {"troops": timedelta(hours=4), "shells": timedelta(hours=1), "summits": None}
    hourly = ChatRules(digest=timedelta(hours=1))
    assert digest_interval(hourly, ["summits"], topics) == timedelta(hours=1)
    assert digest_interval(ChatRules(), ["troops", "shells"], topics) == timedelta(hours=1)
    assert digest_interval(ChatRules(), ["troops", "summits"], topics) is None
    assert digest_interval(ChatRules(), ["unknown"], topics) is None


def test_plans_hold_in_quiet_hours_except_silent_edits_and_digest_after() -> None:
    night, morning = berlin(24, 23), berlin(25, 7, 5)
    held = plan(NIGHT, None, night, night)
    assert held.action == "hold" and held.until == berlin(25, 7)
    assert plan(NIGHT, None, night, night, silent=True).action == "send"
    after = plan(NIGHT, None, night, morning)
    assert after.action == "digest" and after.quiet
    assert plan(NIGHT, None, morning, morning).action == "send"
    hourly = plan(ChatRules(), timedelta(hours=1), morning, morning)
    assert hourly.action == "hold" and hourly.until == berlin(25, 8)
    assert plan(ChatRules(), timedelta(hours=1), morning, berlin(25, 8)).action == "digest"


def alert(number: int, title_words: int = 30) -> Alert:
    title = f"Nordkorea {number}: " + " ".join(["Truppenverlegung"] * title_words)
    snippet = "Nordkorea schickt <Soldaten> & Raketen " + "weiter " * 80
    return Alert(
        chat="default",
        chat_id=GROUP_CHAT,
        title=title,
        link=f"https://example.org/a/{number}?x=1&y=2",
        outlet="ZEIT",
        published=berlin(24, 9),
        topics=("North Korea",),
        snippet=snippet,
        highlights=(Span(0, 9), Span(len(snippet) - 6, len(snippet) - 1)),
        from_page=True,
    )


def test_a_long_digest_is_split_into_numbered_messages_that_telegram_accepts() -> None:
    items = [DigestItem(alert(n), ids=(n,)) for n in range(1, 41)]
    items[3] = DigestItem(alert(4), sources=(alert(99), alert(98)), ids=(4, 99, 98))
    parts = digest_parts(items, "Digest: 42 alerts since 08:00")
    assert len(parts) > 1
    ids = [i for part in parts for i in part.ids]
    assert ids[:5] == [1, 2, 3, 4, 99] and sorted(ids) == sorted([*range(1, 41), 99, 98])
    for index, part in enumerate(parts, start=1):
        error, visible = check_telegram_html(part.html)
        assert error is None, error
        assert utf16_len(visible) <= MAX_MESSAGE_UNITS
        assert visible.startswith(f"Digest: 42 alerts since 08:00 ({index}/{len(parts)})")
        assert "<Soldaten> & Raketen" in visible  # escaped, shown as written
    assert (
        "Also reported by ZEIT 09:00, ZEIT 09:00 (3 sources)"
        in check_telegram_html(parts[0].html)[1]
    )


async def deliver_at(env: dict[str, str], bot: FakeTelegram, when: datetime) -> int:
    """Run one delivery round at `when` with the configured chats, rules and topics."""
    config = load_config(Path(env["MONITOR_CONFIG_DIR"]))
    store = open_store(env)
    sink = TelegramSink(TOKEN, bot.url, Pacer(0, 0))
    await sink.start()
    try:
        return await deliver_pending(
            store,
            sink,
            when,
            config.chats,
            timedelta(hours=24),
            rules=config.chat_rules,
            topic_digests={topic.name: topic.digest for topic in config.topics},
        )
    finally:
        await sink.stop()
        store.close()


def serve_reports(content: ContentServer, count: int) -> list[dict[str, str]]:
    items = []
    for number, (title, paragraphs) in enumerate(distinct_reports(count)):
        link = content.add(f"/a/{number}", article_page(title, paragraphs), "text/html")
        items.append({"title": title, "link": link})
    return items


def test_digest_topic_collects_alerts_into_one_message_per_interval(
    env: dict[str, str], write_config: WriteConfig, content: ContentServer, bot: FakeTelegram
) -> None:
    items = serve_reports(content, 30)
    urgent = {
        "title": "Nordkorea testet Rakete",
        "link": content.add(
            "/urgent",
            article_page(
                "Nordkorea testet Rakete", ["Nordkorea hat eine Rakete getestet, meldet Seoul."]
            ),
            "text/html",
        ),
    }
    write_config(
        [{"name": "Outlet", "url": content.add("/feed.xml", rss([*items, urgent]))}],
        topics=[
            {"name": "North Korea", "query": "Nordkorea*", "digest": "1h"},
            {"name": "Missiles", "query": "Rakete*"},
        ],
    )
    assert main(["once"]) == 0
    # only the report that also matches the immediate topic went out
    assert [m["visible"].splitlines()[1] for m in bot.messages] == ["Nordkorea testet Rakete"]
    store = open_store(env)
    assert store.outbox.counts() == {"pending": 30, "sent": 1}
    store.close()

    assert asyncio.run(deliver_at(env, bot, datetime.now(UTC))) == 0  # not time yet
    assert asyncio.run(deliver_at(env, bot, datetime.now(UTC) + timedelta(hours=1))) == 30
    digests = bot.messages[1:]
    assert len(digests) >= 2, "30 reports do not fit one message"
    assert digests[0]["visible"].startswith("Digest: 30 alerts since ")
    assert f"(1/{len(digests)})" in digests[0]["visible"].splitlines()[0]
    shown = "\n".join(m["visible"] for m in digests)
    for item in items:
        assert item["title"] in shown
    assert not bot.errors
    store = open_store(env)
    assert store.outbox.counts() == {"sent": 31}
    store.close()
    assert asyncio.run(deliver_at(env, bot, datetime.now(UTC) + timedelta(hours=3))) == 0


def quiet_around_now(width: timedelta) -> str:
    now = datetime.now(BERLIN)
    return f"{now - width:%H:%M}-{now + width:%H:%M}"


def test_quiet_hours_hold_alerts_and_send_them_as_one_digest_when_they_end(
    env: dict[str, str], write_config: WriteConfig, content: ContentServer, bot: FakeTelegram
) -> None:
    items = serve_reports(content, 3)
    write_config(
        [{"name": "Outlet", "url": content.add("/feed.xml", rss(items))}],
        topics=[{"name": "North Korea", "query": "Nordkorea*"}],
        chats={"default": {"id": int(GROUP_CHAT), "quiet": quiet_around_now(timedelta(hours=1))}},
    )
    assert main(["once"]) == 0
    assert bot.messages == []
    assert asyncio.run(deliver_at(env, bot, datetime.now(UTC) + timedelta(minutes=30))) == 0
    assert asyncio.run(deliver_at(env, bot, datetime.now(UTC) + timedelta(hours=2))) == 3
    assert len(bot.messages) == 1
    assert bot.messages[0]["visible"].startswith("Held during quiet hours: 3 alerts")


def test_in_quiet_hours_a_story_message_is_still_edited_but_nothing_new_sent(
    env: dict[str, str], write_config: WriteConfig, content: ContentServer, bot: FakeTelegram
) -> None:
    first = seed(needs_shared("seeds/000_34166f1e3ee4ca51.txt"))
    second = seed(needs_shared("seeds/001_7908a5c7b56742fe.txt"))
    two_outlets(content, write_config)
    publish(content, "/zeit.xml", [("/zeit/g7", *first)])
    assert main(["once"]) == 0
    assert len(bot.messages) == 1

    config = Path(env["MONITOR_CONFIG_DIR"]) / "chats.yaml"
    quiet = quiet_around_now(timedelta(hours=1))
    config.write_text(f'chats:\n  default:\n    id: {GROUP_CHAT}\n    quiet: "{quiet}"\n')
    publish(content, "/aa.xml", [("/aa/erklaerung", *second)])
    assert main(["once"]) == 0
    assert len(bot.messages) == 1 and len(bot.edits) == 1  # edits do not notify
    assert "(2 sources)" in bot.messages[0]["visible"]
