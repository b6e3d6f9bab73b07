"""Replicas on PostgreSQL: polls and articles per second with 1, 2 and 3 replicas, 5,000 feeds.

Usage (from the repository root, inside .venv, with a PostgreSQL server):
    MONITOR_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        python bench/scale/run.py [--feeds 5000] [--seconds 40] [--replicas 1 2 3]

A local HTTP server serves `--feeds` RSS feeds of one new article each (a short German report
that matches a topic) and the article pages. For each replica count, a fresh database is created
and that many `monitor run` processes are started against it (console sink, same config). After
`--seconds`, the feeds polled and the articles stored are read from the database; rates are
per second of the window, and each is also given as a ratio to one replica.

Round trips: one in-process run over 200 feeds counts every statement the engine sends
(SQLAlchemy's before_cursor_execute, BEGIN and COMMIT included) per article processed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from monitor.app import App  # noqa: E402
from monitor.config import Settings, load_config  # noqa: E402
from tests.conftest import article_page, fresh_postgres, rss  # noqa: E402
from tests.servers import ContentServer  # noqa: E402
from tests.test_telegram_rules import distinct_reports  # noqa: E402

TOPICS = "topics:\n  - name: North Korea\n    query: Nordkorea*\n"


def serve(server: ContentServer, feeds: int) -> None:
    """One distinct report per feed (invented words, so each is a story of its own)."""
    for number, (title, paragraphs) in enumerate(distinct_reports(feeds)):
        link = server.add(f"/p{number}", article_page(title, paragraphs), "text/html")
        server.add(f"/f{number}.xml", rss([{"title": title, "link": link}]))


def write_config(directory: Path, server: ContentServer, feeds: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    lines = ["feeds:"]
    for number in range(feeds):
        lines += [
            f"  - name: F{number}",
            f"    url: {server.url(f'/f{number}.xml')}",
            "    interval: 3600",
        ]
    (directory / "feeds.yaml").write_text("\n".join(lines) + "\n")
    (directory / "topics.yaml").write_text(TOPICS)
    (directory / "chats.yaml").write_text("chats:\n  default: -100\n")


def measure(replicas: int, config: Path, url: str, seconds: float) -> tuple[float, float]:
    """Run `replicas` processes for `seconds`; return (polls/s, articles/s) over the window."""
    state = Path(tempfile.mkdtemp(prefix="scale-state-"))
    env = {
        **os.environ,
        "MONITOR_CONFIG_DIR": str(config),
        "MONITOR_STATE_DIR": str(state),
        "MONITOR_DATABASE_URL": url,
        "MONITOR_ALLOW_PRIVATE_NETWORKS": "true",
        "MONITOR_HOST_DELAY": "0",
        "MONITOR_HOST_CONNECTIONS": "64",
        "MONITOR_HTTP_LISTEN": "off",
        "MONITOR_LOG_LEVEL": "WARNING",
    }
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "monitor", "run"],
            env={**env, "MONITOR_REPLICA_ID": f"r{n}"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for n in range(replicas)
    ]
    engine = sa.create_engine(url)
    time.sleep(8)  # start-up: imports, worker pools, migrations (the first replica)
    polls0, articles0 = counts(engine)
    time.sleep(seconds)
    polls1, articles1 = counts(engine)
    for child in children:
        child.send_signal(signal.SIGTERM)
    for child in children:
        child.wait(timeout=60)
    engine.dispose()
    return (polls1 - polls0) / seconds, (articles1 - articles0) / seconds


def counts(engine: sa.Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        polls = conn.scalar(sa.text("SELECT count(*) FROM feeds WHERE last_success_at IS NOT NULL"))
        articles = conn.scalar(sa.text("SELECT count(*) FROM entries"))
    return int(polls or 0), int(articles or 0)


async def round_trips(server: ContentServer, config: Path, url: str, feeds: int) -> float:
    """Poll `feeds` feeds once in-process and count statements per article stored."""
    small = config.parent / "small"
    write_config(small, server, feeds)
    with tempfile.TemporaryDirectory() as state:
        env = {
            "MONITOR_CONFIG_DIR": str(small),
            "MONITOR_STATE_DIR": state,
            "MONITOR_DATABASE_URL": url,
            "MONITOR_ALLOW_PRIVATE_NETWORKS": "true",
            "MONITOR_HOST_DELAY": "0",
            "MONITOR_HOST_CONNECTIONS": "64",
        }
        settings = Settings.from_env(env)
        statements = 0

        def count(*_: object) -> None:
            nonlocal statements
            statements += 1

        async with App(settings, load_config(small)) as app:
            sa.event.listen(app.store.engine, "before_cursor_execute", count)
            sa.event.listen(app.store.engine, "commit", count)
            sa.event.listen(app.store.engine, "begin", count)
            for feed in app.config.feeds:
                await app.poll_if_due(feed)
            await app.deliver()
            stored = app.store.articles.count()
    return statements / max(stored, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    if not os.environ.get("MONITOR_TEST_POSTGRES_URL"):
        sys.exit("set MONITOR_TEST_POSTGRES_URL to a PostgreSQL server (see the docstring)")
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    print(f"command: python bench/scale/run.py --feeds {args.feeds} --seconds {args.seconds:g}")
    with ContentServer() as server, tempfile.TemporaryDirectory() as work:
        serve(server, args.feeds)
        config = Path(work) / "config"
        write_config(config, server, args.feeds)
        results = {}
        for replicas in args.replicas:
            with fresh_postgres() as url:
                results[replicas] = measure(replicas, config, url, args.seconds)
            polls, articles = results[replicas]
            base_polls, base_articles = results[args.replicas[0]]
            print(
                f"{replicas} replica(s): {polls:7.1f} polls/s ({polls / base_polls:4.2f}x), "
                f"{articles:7.1f} articles/s ({articles / base_articles:4.2f}x)"
            )
        with fresh_postgres() as url, contextlib.redirect_stdout(io.StringIO()):
            trips = asyncio.run(round_trips(server, config, url, 200))
        print(f"database round trips per article (1 replica, 200 feeds): {trips:.1f}")


if __name__ == "__main__":
    main()
