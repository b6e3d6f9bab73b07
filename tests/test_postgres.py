"""PostgreSQL: the service end to end on it, and three replicas sharing the work.

Runs when MONITOR_TEST_POSTGRES_URL names a test server (`.ci/run` sets it when one answers).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.store import Store
from tests.conftest import (
    GROUP_CHAT,
    REPO,
    TOKEN,
    WriteConfig,
    article_page,
    fresh_postgres,
    needs_shared,
    rss,
    wait_until,
)
from tests.servers import ContentServer, FakeTelegram
from tests.test_stories import seed
from tests.test_telegram_rules import distinct_reports


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_postgres() as url:
        yield url


def serve_feeds(
    content: ContentServer, feeds: int, per_feed: int, delay: float = 0.0
) -> list[dict[str, object]]:
    """`feeds` feeds of `per_feed` distinct matching reports each; return the feed configs."""
    reports = distinct_reports(feeds * per_feed)
    configs = []
    for feed in range(feeds):
        items = []
        for number in range(per_feed):
            title, paragraphs = reports[feed * per_feed + number]
            page = article_page(title, paragraphs)
            link = content.add(f"/f{feed}/a{number}", page, "text/html", delay=delay)
            items.append({"title": title, "link": link})
        url = content.add(f"/f{feed}.xml", rss(items))
        configs.append({"name": f"Feed {feed}", "url": url, "interval": 60})
    return configs


def held_by(store: Store, replica: str) -> bool:
    """Say whether `replica` holds an unexpired claim on some feed."""
    return any(
        state.lease_owner == replica and state.lease_until is not None
        for state in store.feeds.states()
    )


def test_once_on_postgresql_alerts_and_remembers(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MONITOR_DATABASE_URL", pg_url)
    write_config(
        serve_feeds(content, 2, 3), topics=[{"name": "North Korea", "query": "Nordkorea*"}]
    )
    assert main(["once"]) == 0
    assert main(["once"]) == 0  # nothing twice
    alerts = Path(env["MONITOR_STATE_DIR"]) / "alerts.jsonl"
    assert len(alerts.read_text().splitlines()) == 6
    assert main(["status"]) == 0
    assert "alerts: 0 pending, 6 sent" in capsys.readouterr().out


@pytest.mark.slow
def test_three_replicas_share_the_work_and_survive_a_kill(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    telegram: FakeTelegram,
    pg_url: str,
) -> None:
    feeds = serve_feeds(content, 12, 2, delay=0.3)  # pages are slow: a kill lands mid-work
    write_config(
        feeds,
        topics=[{"name": "North Korea", "query": "Nordkorea*"}],
        chats={"default": {"id": int(GROUP_CHAT), "burst": False}},  # one message per alert
    )
    base = {
        **os.environ,
        **env,
        "MONITOR_DATABASE_URL": pg_url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": telegram.url,
        "MONITOR_TELEGRAM_GROUP_INTERVAL": "0",
        "MONITOR_HTTP_LISTEN": "off",
        "MONITOR_FEED_LEASE": "5",  # at least 3 fetch deadlines: 12 s here
    }

    def start(n: int) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "monitor", "run"],
            env={**base, "MONITOR_REPLICA_ID": f"replica-{n}"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    expected = 12 * 2
    store = Store.open(pg_url)
    replicas = [start(0)]
    try:
        wait_until(lambda: held_by(store, "replica-0"), "replica-0 to claim a feed")
        replicas += [start(1), start(2)]
        time.sleep(2)  # the others start and take feeds too
        wait_until(lambda: held_by(store, "replica-0"), "replica-0 to hold a feed again")
        replicas[0].send_signal(signal.SIGKILL)  # mid-poll: it holds at least one feed
        killed = time.monotonic()
        deadline = killed + 90
        while time.monotonic() < deadline and len(telegram.messages) < expected:
            time.sleep(0.3)
        finished = time.monotonic() - killed
        # the bot's commands: answered by whichever replica holds the bot lease now
        telegram.send_update(GROUP_CHAT, "/status")
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and not any(
            reply.startswith("Feeds:") for reply in telegram.replies_to(GROUP_CHAT)
        ):
            time.sleep(0.3)
        answered = [r for r in telegram.replies_to(GROUP_CHAT) if r.startswith("Feeds:")]
        time.sleep(1)
    finally:
        for child in replicas[1:]:
            child.send_signal(signal.SIGTERM)
        errors = [child.communicate(timeout=30)[1] for child in replicas[1:]]
        replicas[0].kill()
        replicas[0].wait()
    # its feeds come back after the feed lease (12 s here), its leadership after 30 s
    assert finished < 12 + 30 + 15, f"the others took {finished:.0f} s to finish its work"
    assert len(answered) == 1, "exactly one replica answers a command"
    assert "Feeds: 12 healthy" in answered[0]
    titles = [
        message["visible"].splitlines()[1]
        for message in telegram.messages
        if not message["visible"].startswith("Feeds:")
    ]
    duplicates = len(titles) - len(set(titles))
    print(
        f"replicas: 3, killed 1 mid-poll; {expected} items, {len(set(titles))} delivered, "
        f"{duplicates} duplicates, the others finished {finished:.1f} s after the kill"
    )
    assert len(set(titles)) == expected, f"{len(set(titles))} of {expected} delivered"
    assert duplicates <= 1, f"{duplicates} duplicates (at most the killed leader's one send)"
    try:
        with store.engine.connect() as conn:
            entries = conn.exec_driver_sql(
                "SELECT count(*), count(DISTINCT link) FROM entries"
            ).one()
        counts = store.outbox.counts()
    finally:
        store.close()
    assert entries[0] == entries[1] == expected, "each item recorded once"
    assert counts == {"sent": expected}
    for err in errors:
        assert "Traceback" not in err, err


def test_migrate_state_copies_sqlite_into_postgresql_and_nothing_is_resent(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    topics = [{"name": "North Korea", "query": "Nordkorea*"}]
    feeds = serve_feeds(content, 2, 2)
    write_config(feeds, topics=topics)
    assert main(["once"]) == 0  # SQLite state: 4 alerts sent
    capsys.readouterr()
    assert main(["migrate-state", "--to", pg_url]) == 0
    out = capsys.readouterr().out
    assert "4 entries" in out and "4 alerts" in out and "2 feeds" in out
    assert main(["migrate-state", "--to", pg_url]) == 1  # never into a non-empty database
    assert "already holds 4 entries" in capsys.readouterr().err

    monkeypatch.setenv("MONITOR_DATABASE_URL", pg_url)
    write_config(serve_feeds(content, 3, 2), topics=topics)  # one more feed, two new items
    assert main(["once"]) == 0
    alerts = Path(env["MONITOR_STATE_DIR"]) / "alerts.jsonl"
    assert len(alerts.read_text().splitlines()) == 6, "only the new feed's items alert"
    store = Store.open(pg_url)
    assert store.outbox.counts() == {"sent": 6}  # new ids followed the copied ones
    store.close()


def test_migrate_state_to_a_database_that_does_not_answer(
    env: dict[str, str], write_config: WriteConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config([])
    url = "postgresql+psycopg://someone:secret-password@127.0.0.1:9/nowhere"
    assert main(["migrate-state", "--to", url]) == 1
    err = capsys.readouterr().err
    assert "cannot open the database postgresql+psycopg://someone:***@127.0.0.1:9/nowhere" in err
    assert "secret-password" not in err


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "postgresql+psycopg://someone:secret-password@127.0.0.1:9/nowhere",
            "error: cannot open the database postgresql+psycopg://someone:***@127.0.0.1:9/nowhere: "
            "connection failed",
        ),
        (
            "nosuchdb://someone:secret-password@host/db",
            "error: cannot use the database nosuchdb://",
        ),
    ],
)
def test_a_database_that_cannot_be_used_is_a_clear_error_without_the_password(
    env: dict[str, str],
    write_config: WriteConfig,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    message: str,
) -> None:
    write_config([])
    monkeypatch.setenv("MONITOR_DATABASE_URL", url)
    for command in ("status", "once", "health"):
        assert main([command]) == 1, command
        err = capsys.readouterr().err
        assert err.startswith(message), err
        assert "secret-password" not in err and "Traceback" not in err


def test_two_replicas_seeing_one_story_at_once_put_it_in_one_story(
    env: dict[str, str],
    tmp_path: Path,
    content: ContentServer,
    pg_url: str,
) -> None:
    first = seed(needs_shared("seeds/000_34166f1e3ee4ca51.txt"))
    second = seed(needs_shared("seeds/001_7908a5c7b56742fe.txt"))
    children = []
    for name, (title, paragraphs) in (("ZEIT", first), ("AA", second)):
        link = content.add(f"/{name}/story", article_page(title, paragraphs), "text/html")
        url = content.add(f"/{name}.xml", rss([{"title": title, "link": link}]))
        config = tmp_path / f"config-{name}"  # each replica polls one of the two feeds
        config.mkdir()
        (config / "feeds.yaml").write_text(f"feeds:\n  - name: {name}\n    url: {url}\n")
        (config / "topics.yaml").write_text((REPO / "config" / "topics.yaml").read_text())
        (config / "chats.yaml").write_text("chats:\n  default: 0\n")
        child_env = {
            **os.environ,
            **env,
            "MONITOR_CONFIG_DIR": str(config),
            "MONITOR_STATE_DIR": str(tmp_path / f"state-{name}"),
            "MONITOR_DATABASE_URL": pg_url,
        }
        children.append(
            subprocess.Popen(
                [sys.executable, "-m", "monitor", "once"],
                env=child_env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    errors = [child.communicate(timeout=120)[1] for child in children]
    assert [child.returncode for child in children] == [0, 0], errors
    store = Store.open(pg_url)
    try:
        with store.engine.connect() as conn:
            stories = conn.exec_driver_sql("SELECT feed, story FROM entries ORDER BY feed").all()
            kinds = sorted(conn.exec_driver_sql("SELECT kind FROM alerts").scalars())
    finally:
        store.close()
    assert len(stories) == 2 and stories[0][1] is not None
    assert stories[0][1] == stories[1][1], f"two stories for one statement: {stories}"
    assert kinds == ["new", "same"]
