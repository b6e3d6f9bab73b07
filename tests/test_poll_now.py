"""SIGUSR1 asks `monitor run` to poll every feed now (an operator's "refresh all" after fixing a
network problem): feeds waiting out their interval or an error back-off are read at once, each
once, and a feed another replica is polling is left to it."""

from __future__ import annotations

import json
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.store import Store
from tests.conftest import WriteConfig, rss, wait_until
from tests.servers import ContentServer
from tests.test_outages import Service


def report(n: int) -> dict[str, str]:
    # the link refuses connections at once: the summary is the text, no page to extract
    return {
        "title": f"Meldung {n}: Nordkorea liefert Raketen nach Kursk",
        "link": f"http://127.0.0.1:9/r{n}",
        "description": f"Seoul berichtet von {n * 1370 + 11} Soldaten aus Nordkorea in Kursk.",
    }


def delivered(alerts: Path) -> list[str]:
    if not alerts.exists():
        return []
    return [json.loads(line)["title"] for line in alerts.read_text().splitlines() if line]


def fetches(content: ContentServer, path: str) -> int:
    return sum(1 for requested, _ in content.requests if requested == path)


def test_sigusr1_polls_every_feed_now_even_one_backing_off(
    env: dict[str, str], write_config: WriteConfig, content: ContentServer
) -> None:
    content.add("/ok.xml", rss([report(1)]))
    content.add("/broken.xml", "down for maintenance", "text/plain", status=500)
    write_config(
        [  # an hour apart: only the signal can explain a second poll within the test
            {"name": "Ok", "url": content.url("/ok.xml"), "interval": 3600},
            {"name": "Broken", "url": content.url("/broken.xml"), "interval": 3600},
        ]
    )
    alerts = Path(env["MONITOR_STATE_DIR"]) / "alerts.jsonl"
    service = Service.start(env, [])
    try:
        wait_until(lambda: report(1)["title"] in delivered(alerts), "the first alert")
        wait_until(lambda: "feed Broken failed" in service.log(), "the broken feed's failure")
        # the publisher fixes its feed and both gain a report; the schedule says: in an hour
        content.add("/ok.xml", rss([report(1), report(2)]))
        content.add("/broken.xml", rss([report(3)]))
        before = fetches(content, "/ok.xml"), fetches(content, "/broken.xml")
        service.child.send_signal(signal.SIGUSR1)
        wait_until(
            lambda: {report(2)["title"], report(3)["title"]} <= set(delivered(alerts)),
            "the reports read by the poll the signal asked for",
            15,
        )
        after = fetches(content, "/ok.xml"), fetches(content, "/broken.xml")
    finally:
        code = service.stop()
    log = service.log()
    assert code == 0, log
    assert "Traceback" not in log
    assert "polling every feed now (SIGUSR1)" in log, log
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1), "each feed read once more"
    assert sorted(delivered(alerts)) == sorted(report(n)["title"] for n in (1, 2, 3))


def test_polling_now_takes_a_feed_not_yet_due_but_not_one_another_replica_holds(
    database_url: str,
) -> None:
    store = Store.open(database_url)
    try:
        now = datetime.now(UTC)
        later = now + timedelta(minutes=2)
        assert store.feeds.claim("F", "https://e.org/f", "a", now, later) is not None
        # replica a is polling F: neither a scheduled nor an asked-for poll of b takes it
        assert store.feeds.claim("F", "https://e.org/f", "b", now, later) is None
        assert store.feeds.claim("F", "https://e.org/f", "b", now, later, force=True) is None
        store.feeds.polled("F", "https://e.org/f", None, now, next_poll_at=now + timedelta(hours=1))
        # polled and not due for an hour: only a poll asked for now takes it
        assert store.feeds.claim("F", "https://e.org/f", "b", now, later) is None
        state = store.feeds.claim("F", "https://e.org/f", "b", now, later, force=True)
        assert state is not None and state.lease_owner == "b"
    finally:
        store.close()
