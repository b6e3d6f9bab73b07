"""Resident memory while processing 100,000 articles: does it stay flat?

Usage (from the repository root, inside .venv):
    python bench/ingest/memory.py [--articles 100000] [--every 10000]

A local server makes up feeds of 50 new items and a small German article page for each item
(words drawn from a fixed vocabulary, so every page is different). The real pipeline fetches,
extracts (2 recycled workers), matches the shipped topics and stores every article in SQLite.
Resident memory of the service process, and of its worker processes, is read from /proc.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from monitor.app import App  # noqa: E402
from monitor.config import FeedConfig, Settings, load_config  # noqa: E402

ITEMS = 50
WORDS = [
    "Regierung",
    "Bericht",
    "Minister",
    "Wahl",
    "Stadt",
    "Polizei",
    "Wetter",
    "Schule",
    "Landrat",
    "Feuerwehr",
    "Brücke",
    "Wirtschaft",
    "Handel",
    "Energie",
    "Preise",
    "Bahn",
    "Verkehr",
    "Gericht",
    "Urteil",
    "Klima",
    "Sport",
    "Verein",
    "Trainer",
    "Kultur",
    "Theater",
    "Museum",
    "Forschung",
    "Universität",
    "Gesundheit",
    "Klinik",
    "Arzt",
    "Landtag",
    "Kanzler",
    "Partei",
]


def page(key: str) -> bytes:
    rng = random.Random(key)
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(WORDS) for _ in range(60)) + ".</p>" for _ in range(5)
    )
    return (
        f"<html><body><article><h1>Artikel {key}</h1>{paragraphs}</article></body></html>"
    ).encode()


def feed(number: int, port: int) -> bytes:
    date = format_datetime(datetime.now(UTC))
    items = "".join(
        f"<item><title>Artikel {number}-{n}</title><link>http://127.0.0.1:{port}/page/{number}/{n}</link>"
        f"<pubDate>{date}</pubDate></item>"
        for n in range(ITEMS)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>F{number}</title>{items}</channel></rss>'.encode()


def serve() -> tuple[ThreadingHTTPServer, int]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            parts = self.path.strip("/").split("/")
            port = self.server.server_address[1]
            body = feed(int(parts[1]), port) if parts[0] == "feed" else page("/".join(parts[1:]))
            self.send_response(200)
            self.send_header(
                "Content-Type", "application/rss+xml" if parts[0] == "feed" else "text/html"
            )
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        request_queue_size = 1024
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children_file = task / "children"
        if children_file.exists():
            found += [int(c) for c in children_file.read_text().split()]
    return found


async def run(articles: int, every: int) -> None:
    server, port = serve()
    with tempfile.TemporaryDirectory() as state:
        config = Path(state) / "config"
        config.mkdir()
        (config / "feeds.yaml").write_text("feeds: []\n")
        (config / "topics.yaml").write_text((ROOT / "config" / "topics.yaml").read_text())
        (config / "chats.yaml").write_text("chats:\n  default: -100\n")
        settings = Settings.from_env(
            {
                "MONITOR_CONFIG_DIR": str(config),
                "MONITOR_STATE_DIR": state,
                "MONITOR_ALLOW_PRIVATE_NETWORKS": "true",
                "MONITOR_HOST_DELAY": "0",
                "MONITOR_HOST_CONNECTIONS": "16",
                "MONITOR_LOG_LEVEL": "WARNING",
            }
        )
        done, number, started = 0, 0, time.perf_counter()
        print(f"{'articles':>9} {'service MiB':>12} {'workers MiB':>12} {'rate /s':>8}")
        async with App(settings, load_config(config)) as app:
            while done < articles:
                batch = [
                    FeedConfig(
                        name=f"F{number + i}", url=f"http://127.0.0.1:{port}/feed/{number + i}"
                    )
                    for i in range(4)
                ]
                number += 4
                results = await asyncio.gather(*(app.poll(f) for f in batch))
                done += sum(r.new for r in results)
                await app.deliver()
                if done % every < ITEMS * 4:
                    workers = sum(rss_mib(child) for child in children(os.getpid()))
                    rate = done / (time.perf_counter() - started)
                    print(
                        f"{done:>9} {rss_mib(os.getpid()):>12.1f} {workers:>12.1f} {rate:>8.0f}",
                        flush=True,
                    )
    server.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=10_000)
    args = parser.parse_args()
    print(
        f"bench/ingest/memory run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()})"
    )
    print(f"command: python bench/ingest/memory.py --articles {args.articles} --every {args.every}")
    sys.stdout = open(sys.stdout.fileno(), "w", buffering=1, closefd=False)  # noqa: SIM115
    asyncio.run(run(args.articles, args.every))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
