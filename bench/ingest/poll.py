"""Polling 1,000 feeds x 50 items on loopback: monitor against newsboat and rss2email.

Usage (from the repository root, inside .venv; newsboat and rss2email from Debian's packages):
    python bench/ingest/poll.py [--feeds 1000] [--items 50]

One local server answers on port P for 100 loopback addresses (127.0.0.1 .. 127.0.0.100), ten
feeds each, so per-host politeness behaves as it would across real outlets. Items are two days
old, so no article page is fetched. "cold" is the first poll of every feed; "warm" the second,
when every feed is unchanged and the server answers 304 to conditional requests; "churn" the
third, after one new item (published now, its article page served by the same host) was added
to every feed. Each tool runs at its defaults, then with its concurrency raised where it has
such a setting; every tool meets the same server, reset to the first bodies before it starts.
monitor runs with MONITOR_ALLOW_PRIVATE_NETWORKS=true, or it would refuse the loopback pages.
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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOSTS = 100
FIRST_STAMP = format_datetime(datetime(2024, 12, 1, tzinfo=UTC), usegmt=True)
CHURN_STAMP = format_datetime(datetime(2024, 12, 2, tzinfo=UTC), usegmt=True)


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


def churned_body(index: int, items: int, host: str) -> bytes:
    """The feed with one new item in front, published now, linking to its page on `host`."""
    date = format_datetime(datetime.now(UTC))
    item = (
        f"<item><title>Neue Meldung aus Feed {index}</title>"
        f"<link>http://{host}/page/{index}.html</link><guid>urn:bench:{index}:new</guid>"
        f"<description>Eine neue Kurzmeldung aus Feed {index}.</description>"
        f"<pubDate>{date}</pubDate></item>"
    ).encode()
    body = feed_body(index, items)
    return body.replace(b"<item>", item + b"<item>", 1)


def page_body(index: int) -> bytes:
    paragraphs = "".join(
        f"<p>Absatz {n} der Meldung {index}. Die Regierung äußerte sich am Abend zu den "
        "Berichten über den Haushalt; weitere Angaben wurden nicht gemacht. Vertreter der "
        "Länder verwiesen auf die laufenden Beratungen und kündigten eine Erklärung an.</p>"
        for n in range(6)
    )
    return (
        f'<!DOCTYPE html><html lang="de"><head><meta charset="utf-8"><title>Meldung {index}'
        f"</title></head><body><nav><a href='/'>Start</a></nav><main><article>"
        f"<h1>Meldung {index}</h1>{paragraphs}</article></main><footer>Impressum</footer>"
        "</body></html>"
    ).encode()


class Site:
    """What the server answers: each feed's body (the first, or churned) and the pages."""

    def __init__(self, feeds: int, items: int, hosts: list[str]) -> None:
        self.first = {f"/feed/{i}.xml": feed_body(i, items) for i in range(feeds)}
        self.churned = {f"/feed/{i}.xml": churned_body(i, items, hosts[i]) for i in range(feeds)}
        self.pages = {f"/page/{i}.html": page_body(i) for i in range(feeds)}
        self.bodies = dict(self.first)
        self.stamp = FIRST_STAMP

    def reset(self) -> None:
        self.bodies, self.stamp = dict(self.first), FIRST_STAMP

    def churn(self) -> None:
        self.bodies, self.stamp = dict(self.churned), CHURN_STAMP


def serve(feeds: int, items: int) -> tuple[ThreadingHTTPServer, list[str], Site]:

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            page = site.pages.get(path)
            if page is not None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)
                return
            body = site.bodies.get(path)
            if body is None:
                self.send_error(404)
                return
            etag = f'"{hash(body) & 0xFFFFFFFF:x}"'
            if (
                # If-None-Match, when sent, decides alone (RFC 9110 13.2.2)
                self.headers.get("If-None-Match") == etag
                if "If-None-Match" in self.headers
                else self.headers.get("If-Modified-Since") == site.stamp
            ):
                self.send_response(304)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", site.stamp)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        request_queue_size = 1024  # the default backlog of 5 drops concurrent connects for 1 s
        daemon_threads = True

    server = Server(("0.0.0.0", 0), Handler)  # answers every 127.x address
    port = server.server_address[1]
    hosts = [f"127.0.0.{i % HOSTS + 1}:{port}" for i in range(feeds)]
    site = Site(feeds, items, hosts)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    urls = [f"http://{host}/feed/{i}.xml" for i, host in enumerate(hosts)]
    return server, urls, site


def timed(command: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=1800)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {done.stderr[-500:]}")
    return elapsed


Rounds = tuple[float, float, float]


def rounds(run: Callable[[], float], site: Site) -> Rounds:
    """Time the cold, the warm and the churn round of one tool."""
    site.reset()
    cold, warm = run(), run()
    site.churn()
    return cold, warm, run()


def monitor(urls: list[str], work: Path, raised: bool, site: Site) -> Rounds:
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
        "MONITOR_ALLOW_PRIVATE_NETWORKS": "true",
    }
    if raised:
        env.update(MONITOR_HOST_DELAY="0", MONITOR_HOST_CONNECTIONS="16")
    command = [sys.executable, "-m", "monitor", "once"]
    return rounds(lambda: timed(command, env), site)


def newsboat(urls: list[str], work: Path, raised: bool, site: Site) -> Rounds:
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
    return rounds(lambda: timed(command, env), site)


def rss2email(urls: list[str], work: Path, site: Site) -> Rounds:
    config = work / "r2e.cfg"
    config.write_text(
        "[DEFAULT]\nfrom = bench@example.org\nto = bench@example.org\n"
        + "".join(f"\n[feed.f{i}]\nurl = {url}\n" for i, url in enumerate(urls))
    )
    command = ["r2e", "-c", str(config), "-d", str(work / "r2e.json"), "run", "--no-send"]
    return rounds(lambda: timed(command), site)


def version(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).splitlines()[0].strip() if done.returncode == 0 else "?"


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
    # Installed, the package has its bytecode (pip compiles it; the image too), as rss2email and
    # newsboat's Python-free install have theirs; an editable checkout under
    # PYTHONDONTWRITEBYTECODE=1 would compile every module at each start (0.1 s) instead.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "monitor")], check=True)
    server, urls, site = serve(args.feeds, args.items)
    results: dict[str, Rounds] = {}
    runs: list[tuple[str, Callable[[Path], Rounds]]] = [
        ("monitor, defaults (2 per host, 0.5 s apart)", lambda w: monitor(urls, w, False, site)),
        ("monitor, politeness off (16 per host, no delay)", lambda w: monitor(urls, w, True, site)),
    ]
    if shutil.which("newsboat"):
        print(f"newsboat: {version(['newsboat', '--version'])}")
        runs += [
            ("newsboat, defaults (1 thread)", lambda w: newsboat(urls, w, False, site)),
            ("newsboat, 16 threads", lambda w: newsboat(urls, w, True, site)),
        ]
    if shutil.which("r2e"):
        print(f"rss2email: {version(['r2e', '--version'])}")
        runs += [
            ("rss2email, defaults (no concurrency setting)", lambda w: rss2email(urls, w, site))
        ]
    for name, run in runs:
        with tempfile.TemporaryDirectory() as work:
            results[name] = run(Path(work))
        cold, warm, churn = results[name]
        print(f"{name}: cold {cold:.2f} s, warm {warm:.2f} s, churn {churn:.2f} s", flush=True)
    server.shutdown()
    ours = results[runs[0][0]]
    print("\nratio to monitor at its defaults (their time / ours; above 1: we are faster)")
    for name, (cold, warm, churn) in results.items():
        print(
            f"  {name}: cold {cold / ours[0]:.2f}, warm {warm / ours[1]:.2f}, "
            f"churn {churn / ours[2]:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
