"""Polling 1,000 feeds x 50 items on loopback: monitor against newsboat and rss2email.

Usage (from the repository root, inside .venv; newsboat and rss2email from Debian's packages):
    python bench/ingest/poll.py [--feeds 1000] [--items 50]

One local server answers on port P for 100 loopback addresses (127.0.0.1 .. 127.0.0.100), ten
feeds each, so per-host politeness behaves as it would across real outlets. Items are two days
old, so no article page is fetched. "cold" is the first poll of every feed; "warm" the second,
when every feed is unchanged and the server answers 304 to conditional requests. Each tool runs
at its defaults, then with its concurrency raised where it has such a setting.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOSTS = 100
STAMP = format_datetime(datetime(2024, 12, 1, tzinfo=UTC), usegmt=True)


def feed_body(index: int, items: int) -> bytes:
    date = format_datetime(datetime.now(UTC) - timedelta(days=2))
    entries = "".join(
        f"<item><title>Meldung {index}-{n}: Lage im Osten</title>"
        f"<link>http://example.org/{index}/{n}</link><guid>urn:bench:{index}:{n}</guid>"
        f"<description>Kurzmeldung {n} aus Feed {index}. Die Regierung äußerte sich am Abend "
        f"zu den Berichten; weitere Angaben wurden nicht gemacht.</description>"
        f"<pubDate>{date}</pubDate></item>"
        for n in range(items)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Feed {index}</title>'
        f"<link>http://example.org/{index}</link><description>Bench</description>{entries}</channel></rss>"
    ).encode()


def serve(feeds: int, items: int) -> tuple[ThreadingHTTPServer, list[str]]:
    bodies = {f"/feed/{i}.xml": feed_body(i, items) for i in range(feeds)}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = bodies.get(self.path.split("?")[0])
            if body is None:
                self.send_error(404)
                return
            etag = f'"{hash(body) & 0xFFFFFFFF:x}"'
            if (
                self.headers.get("If-None-Match") == etag
                or self.headers.get("If-Modified-Since") == STAMP
            ):
                self.send_response(304)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", STAMP)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        request_queue_size = 1024  # the default backlog of 5 drops concurrent connects for 1 s
        daemon_threads = True

    server = Server(("0.0.0.0", 0), Handler)  # answers every 127.x address
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    urls = [f"http://127.0.0.{i % HOSTS + 1}:{port}/feed/{i}.xml" for i in range(feeds)]
    return server, urls


def timed(command: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=1800)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {done.stderr[-500:]}")
    return elapsed


def monitor(urls: list[str], work: Path, raised: bool) -> tuple[float, float]:
    config = work / "config"
    config.mkdir()
    (config / "feeds.yaml").write_text(
        "feeds:\n" + "".join(f"  - name: feed {i}\n    url: {url}\n" for i, url in enumerate(urls))
    )
    (config / "topics.yaml").write_text((ROOT / "config" / "topics.yaml").read_text())
    (config / "chats.yaml").write_text("chats:\n  default: -100\n")
    env = {
        **os.environ,
        "MONITOR_CONFIG_DIR": str(config),
        "MONITOR_STATE_DIR": str(work / "state"),
        "MONITOR_LOG_LEVEL": "WARNING",
    }
    if raised:
        env.update(MONITOR_HOST_DELAY="0", MONITOR_HOST_CONNECTIONS="16")
    command = [sys.executable, "-m", "monitor", "once"]
    return timed(command, env), timed(command, env)


def newsboat(urls: list[str], work: Path, raised: bool) -> tuple[float, float]:
    (work / "urls").write_text("\n".join(urls) + "\n")
    (work / "config").write_text(f"reload-threads {16 if raised else 1}\n")
    command = [
        "newsboat",
        "-u",
        str(work / "urls"),
        "-c",
        str(work / "cache.db"),
        "-C",
        str(work / "config"),
        "-x",
        "reload",
    ]
    env = {**os.environ, "HOME": str(work)}
    return timed(command, env), timed(command, env)


def rss2email(urls: list[str], work: Path) -> tuple[float, float]:
    config = work / "r2e.cfg"
    config.write_text(
        "[DEFAULT]\nfrom = bench@example.org\nto = bench@example.org\n"
        + "".join(f"\n[feed.f{i}]\nurl = {url}\n" for i, url in enumerate(urls))
    )
    command = ["r2e", "-c", str(config), "-d", str(work / "r2e.json"), "run", "--no-send"]
    return timed(command), timed(command)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    args = parser.parse_args()
    print(
        f"bench/ingest/poll run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()})"
    )
    print(f"command: python bench/ingest/poll.py --feeds {args.feeds} --items {args.items}")
    server, urls = serve(args.feeds, args.items)
    results: dict[str, tuple[float, float]] = {}
    runs = [
        ("monitor, defaults (2 per host, 0.5 s apart)", lambda w: monitor(urls, w, False)),
        ("monitor, raised (16 per host, no delay)", lambda w: monitor(urls, w, True)),
    ]
    if shutil.which("newsboat"):
        runs += [
            ("newsboat, defaults (1 thread)", lambda w: newsboat(urls, w, False)),
            ("newsboat, 16 threads", lambda w: newsboat(urls, w, True)),
        ]
    if shutil.which("r2e"):
        runs += [("rss2email, defaults (no concurrency setting)", lambda w: rss2email(urls, w))]
    for name, run in runs:
        with tempfile.TemporaryDirectory() as work:
            results[name] = run(Path(work))
        print(f"{name}: cold {results[name][0]:.1f} s, warm {results[name][1]:.1f} s", flush=True)
    server.shutdown()
    ours = results[runs[0][0]]
    print("\nratio to monitor at its defaults (their time / ours; above 1: we are faster)")
    for name, (cold, warm) in results.items():
        print(f"  {name}: cold {cold / ours[0]:.2f}, warm {warm / ours[1]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
