"""/search within its budget: newest first, bounded in time and in work per article, stopped
at once when the service stops."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.commands import Desk, Request
from monitor.config import Config
from monitor.models import Article, Entry
from monitor.query import parse
from monitor.search import find
from monitor.store import NewEntry, Store

NOW = datetime.now(UTC)
CHAIN = " NEAR/50 ".join(["d*", "s*"] * 25)  # about 0.1 s of NEAR work per 1,000 words


def stored(tmp_path: Path, texts: list[str]) -> Store:
    """A SQLite store holding one article per text, the last one newest."""
    store = Store.open(f"sqlite:///{tmp_path / 'monitor.sqlite'}")
    items = []
    for number, text in enumerate(texts):
        entry = Entry(
            "Outlet", f"g{number}", f"https://outlet.example/{number}", f"T{number}", "", NOW
        )
        items.append(NewEntry(entry, (f"guid:Outlet:g{number}",), Article(entry, text, True), ()))
    store.entries.record("Outlet", items, NOW)
    return store


def words(count: int, seed: int = 0) -> str:
    vocabulary = ["der", "die", "das", "dort", "soldaten", "sagte", "staat", "sind", "und"]
    return " ".join(vocabulary[(seed + i * 7) % len(vocabulary)] for i in range(count))


def test_newest_first_and_done_at_the_wanted_count(tmp_path: Path) -> None:
    store = stored(tmp_path, [f"nummer {n} kursk" for n in range(50)])
    scan = find(store, parse("kursk"), NOW - timedelta(days=7), 5)
    assert [article.entry.title for article, _ in scan.found] == ["T49", "T48", "T47", "T46", "T45"]
    assert scan.read == 5 and scan.stopped is None
    store.close()


def test_a_search_ends_when_its_time_is_up_and_says_how_far_it_got(tmp_path: Path) -> None:
    store = stored(tmp_path, [words(1000, n) for n in range(200)])
    desk = Desk(store, lambda: Config((), (), {}), search_seconds=1.0)
    started = time.monotonic()
    [reply] = asyncio.run(
        desk.answer(Request("default", "search", (*CHAIN.split(), "NEAR/50", "zzzz")))
    )
    # 1 s asked; unbounded, it would run into find's own 5 s limit (room for a loaded machine)
    assert time.monotonic() - started < 4.5
    assert reply.startswith("Nothing in the last 7 days matches.\n<i>Searched the newest ")
    assert reply.endswith(" articles: a search may take 1 s, so older ones were not searched.</i>")
    store.close()


def test_an_article_the_query_is_too_much_work_on_is_skipped(tmp_path: Path) -> None:
    long_one = words(30_000)  # 200,000 steps spent long before its end
    store = stored(tmp_path, [words(300, 1) + " kursk", long_one + " kursk", words(300, 2)])
    scan = find(store, parse(CHAIN + " NEAR/50 kursk"), NOW - timedelta(days=7), 5)
    assert scan.costly == 1 and scan.read == 3 and scan.stopped is None
    assert [article.entry.title for article, _ in scan.found] == ["T0"]
    store.close()


def test_a_stop_ends_a_search_at_once(tmp_path: Path) -> None:
    store = stored(tmp_path, [words(1000, n) for n in range(200)])
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()
    scan = find(store, parse(CHAIN + " NEAR/50 zzzz"), NOW - timedelta(days=7), 5, stop)
    # stopped at 0.3 s; not stopped, it would run into find's own 5 s limit
    assert scan.stopped == "stopped" and time.monotonic() - started < 2.5
    store.close()
