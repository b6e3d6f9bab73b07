"""`monitor demo`: serve bundled sample feeds and articles on 127.0.0.1, run the real pipeline once.

The samples (demo_data/articles.yaml) were written for this project from the seed documents.
Nothing reaches the internet and nothing is written outside a temporary directory.
"""

from __future__ import annotations

import html
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from monitor.app import App
from monitor.config import Config, FeedConfig, Settings
from monitor.pipeline import PollResult

SAMPLES = "demo_data/articles.yaml"


@dataclass(frozen=True, slots=True)
class DemoOutcome:
    """What the demo run did: per-feed results and how many sample reports it served."""

    results: list[PollResult]
    reports: int


def load_samples() -> list[dict[str, Any]]:
    """Return the bundled outlets with their articles."""
    text = resources.files("monitor").joinpath(SAMPLES).read_text("utf-8")
    outlets: list[dict[str, Any]] = yaml.safe_load(text)["outlets"]
    return outlets


def build_site(
    outlets: list[dict[str, Any]], base: str, now: datetime
) -> dict[str, tuple[bytes, str]]:
    """Return the demo site: an RSS feed per outlet and an HTML page per article, by path."""
    site: dict[str, tuple[bytes, str]] = {}
    for outlet in outlets:
        items = []
        for article in outlet["articles"]:
            path = f"/{outlet['path']}/{article['slug']}.html"
            site[path] = (_page(article["title"], article["paragraphs"]).encode(), "text/html")
            published = now - timedelta(minutes=article["minutes_ago"])
            items.append(
                f"<item><title>{html.escape(article['title'])}</title>"
                f"<link>{base}{path}</link><guid>{base}{path}</guid>"
                f"<description>{html.escape(article['paragraphs'][0])}</description>"
                f"<pubDate>{format_datetime(published)}</pubDate></item>"
            )
        feed = (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>{html.escape(outlet['name'])}</title><link>{base}/</link>"
            f"<description>news-monitor demo</description>{''.join(items)}</channel></rss>"
        )
        site[f"/{outlet['path']}/feed.xml"] = (feed.encode(), "application/rss+xml")
    return site


def _page(title: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (
        '<!DOCTYPE html><html lang="de"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body>"
        '<nav><a href="/">Start</a> <a href="/politik">Politik</a></nav>'
        f"<main><article><h1>{html.escape(title)}</h1>{body}</article></main>"
        "<footer>Impressum · Datenschutz</footer></body></html>"
    )


@contextmanager
def serve_site(outlets: list[dict[str, Any]]) -> Iterator[str]:
    """Serve the demo site on 127.0.0.1 (a free port); yield its base URL."""
    site: dict[str, tuple[bytes, str]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, content_type = site.get(self.path, (b"not found", "text/plain"))
            self.send_response(200 if self.path in site else 404)
            self.send_header("Content-Type", f"{content_type}; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """The demo's output is the alerts, not the request log."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    site.update(build_site(outlets, base, datetime.now(UTC)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()


async def run_demo(settings: Settings, config: Config) -> DemoOutcome:
    """Poll the demo feeds once with `config`'s topics; alerts go to the console.

    State lives in a temporary directory; the operator's state, chats and token are not used.
    Digests are off, so every alert shows at once.
    """
    outlets = load_samples()
    with tempfile.TemporaryDirectory(prefix="monitor-demo-") as state, serve_site(outlets) as base:
        demo_settings = settings.model_copy(
            update={
                "state_dir": Path(state),
                "database_url": f"sqlite:///{Path(state) / 'demo.sqlite'}",
                "telegram_token": "",
                "allow_private_networks": True,
                "host_delay": 0.0,
                "http_listen": None,
            }
        )
        feeds = tuple(
            FeedConfig(name=outlet["name"], url=f"{base}/{outlet['path']}/feed.xml")
            for outlet in outlets
        )
        demo_config = Config(
            feeds=feeds,
            topics=tuple(replace(topic, digest=None) for topic in config.topics),
            chats=config.chats,
        )
        async with App(demo_settings, demo_config) as app:
            results = await app.run_once()
    return DemoOutcome(results, sum(len(outlet["articles"]) for outlet in outlets))
