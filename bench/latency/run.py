"""Alert latency: a new item becomes visible in a feed -> its message reaches the Bot API.

Usage (from the repository root, inside .venv):
    python bench/latency/run.py [--feeds 4 1000] [--events 12] [--gap 8]

For each feed count, `monitor run` runs as a real process with its defaults against feeds served
on 127.0.0.1 and the test Bot API (tests/servers.py, which enforces Telegram's limits). Two
settings differ, and are printed: MONITOR_HOST_DELAY=0, because every loopback feed is on one
host and the per-host politeness delay would serialise them (real feeds are on many hosts); and
each feed's interval (feeds.yaml), the minimum of 30 s for 4 feeds and 60 s for 1,000 (what
one 2-core machine polls without falling behind, see bench/scale). After the first polls, one new
item is published every `--gap` seconds in a random feed; latency is the time from publishing
to the message's arrival at the Bot API. The goal is p95 <= interval + 3 s: a poll at a random
moment of the interval, then fetch, extraction, matching and one paced send.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.conftest import GROUP_CHAT, TOKEN, article_page, rss  # noqa: E402
from tests.servers import ContentServer, FakeTelegram  # noqa: E402
from tests.test_telegram_rules import distinct_reports  # noqa: E402

TOPICS = "topics:\n  - name: North Korea\n    query: Nordkorea*\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, nargs="+", default=[4, 1000])
    parser.add_argument("--events", type=int, default=12, help="new items per feed count")
    parser.add_argument("--gap", type=float, default=8.0, help="seconds between new items")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(
        f"command: python bench/latency/run.py --feeds {' '.join(map(str, args.feeds))} "
        f"--events {args.events} --gap {args.gap:g}"
    )
    for feeds in args.feeds:
        interval = 30 if feeds <= 100 else 60
        latencies, missed = measure(feeds, interval, args.events, args.gap)
        report(feeds, interval, latencies, missed)
    return 0


def measure(feeds: int, interval: int, events: int, gap: float) -> tuple[list[float], int]:
    """Run the service over `feeds` empty feeds, publish `events` items, time their messages."""
    rng = random.Random(feeds)
    reports = distinct_reports(events)
    with (
        ContentServer() as content,
        FakeTelegram(TOKEN, chats={GROUP_CHAT}) as telegram,
        tempfile.TemporaryDirectory() as tmp,
    ):
        for number in range(feeds):
            content.add(f"/f{number}.xml", rss([]))
        config = Path(tmp) / "config"
        config.mkdir()
        lines = ["feeds:"]
        for number in range(feeds):
            lines += [
                f"  - name: F{number}",
                f"    url: {content.url(f'/f{number}.xml')}",
                f"    interval: {interval}",
            ]
        (config / "feeds.yaml").write_text("\n".join(lines) + "\n")
        (config / "topics.yaml").write_text(TOPICS)
        (config / "chats.yaml").write_text(f"chats:\n  default: {GROUP_CHAT}\n")
        env = {
            **os.environ,
            "MONITOR_CONFIG_DIR": str(config),
            "MONITOR_STATE_DIR": str(Path(tmp) / "state"),
            "MONITOR_ALLOW_PRIVATE_NETWORKS": "true",
            "MONITOR_HOST_DELAY": "0",
            "MONITOR_HTTP_LISTEN": "127.0.0.1:0",
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": telegram.url,
        }
        service = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        arrived: dict[str, float] = {}
        stop = threading.Event()

        def watch() -> None:  # stamp each message when it first shows up at the Bot API
            while not stop.is_set():
                for message in list(telegram.messages):
                    title = message["visible"].splitlines()[1] if "\n" in message["visible"] else ""
                    arrived.setdefault(title, time.monotonic())
                time.sleep(0.02)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            time.sleep(interval + 15)  # every feed polled once (first polls spread over 60 s)
            published: dict[str, float] = {}
            items: dict[int, list[dict[str, str]]] = {}  # a feed keeps what it listed before
            for title, paragraphs in reports:
                feed = rng.randrange(feeds)
                link = content.add(
                    f"/p{len(published)}", article_page(title, paragraphs), "text/html"
                )
                items.setdefault(feed, []).insert(0, {"title": title, "link": link})
                content.add(f"/f{feed}.xml", rss(items[feed]))
                published[title] = time.monotonic()
                time.sleep(gap)
            deadline = time.monotonic() + interval + 30
            while time.monotonic() < deadline and not set(published) <= set(arrived):
                time.sleep(0.2)
        finally:
            stop.set()
            service.send_signal(signal.SIGTERM)
            service.wait(30)
    latencies = [arrived[t] - at for t, at in published.items() if t in arrived]
    return latencies, len(published) - len(latencies)


def report(feeds: int, interval: int, latencies: list[float], missed: int) -> None:
    latencies.sort()
    if not latencies:
        print(f"\n{feeds} feeds: no message arrived")
        return
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    goal = interval + 3
    print(f"\n{feeds} feeds, interval {interval} s, {len(latencies)} items timed, {missed} missed")
    print(
        f"  latency p50 {statistics.median(latencies):.1f} s, p95 {p95:.1f} s, "
        f"max {latencies[-1]:.1f} s (goal: p95 <= {goal} s: {'met' if p95 <= goal else 'NOT met'})"
    )


if __name__ == "__main__":
    raise SystemExit(main())
