"""Extraction-bound throughput: the whole pipeline against bare trafilatura, same pages, same cores.

Usage (from the repository root, inside .venv):
    python bench/ingest/run.py [--rounds 2]

The 104 real German pages in ../shared/data/pages are served from a local HTTP server and
listed in one feed whose items are all new; `monitor`'s pipeline fetches the feed and every
page, extracts in its 2-worker pool, matches the shipped topics and stores entries and alerts.
The baseline hands the same page bytes, already in memory, to trafilatura.extract in a
2-process pool. Both pools are warmed up first; the ratio is pipeline pages/s over bare pages/s.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import platform
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import trafilatura

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from monitor.app import App  # noqa: E402
from monitor.config import FeedConfig, Settings, load_config  # noqa: E402
from tests.conftest import rss  # noqa: E402
from tests.servers import ContentServer  # noqa: E402

PAGES = ROOT.parent / "shared" / "data" / "pages"


def bare_extract(html: bytes) -> int:
    text = trafilatura.extract(
        html, include_comments=False, include_tables=False, deduplicate=False
    )
    return len(text or "")


def bare(pages: list[bytes]) -> float:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        list(pool.map(bare_extract, pages[:4]))  # warm up both workers
        start = time.perf_counter()
        list(pool.map(bare_extract, pages))
        return time.perf_counter() - start


async def pipeline(pages: list[bytes], rounds: int) -> list[float]:
    with ContentServer() as server, tempfile.TemporaryDirectory() as state:
        config_dir = Path(state) / "config"
        config_dir.mkdir()
        (config_dir / "topics.yaml").write_text((ROOT / "config" / "topics.yaml").read_text())
        (config_dir / "chats.yaml").write_text("chats:\n  default: -100\n")
        (config_dir / "feeds.yaml").write_text("feeds: []\n")
        for index, page in enumerate(pages):
            server.add(f"/page/{index}", page, "text/html")
        settings = Settings.from_env(
            {
                "MONITOR_CONFIG_DIR": str(config_dir),
                "MONITOR_STATE_DIR": state,
                "MONITOR_ALLOW_PRIVATE_NETWORKS": "true",
                "MONITOR_HOST_DELAY": "0",
                "MONITOR_HOST_CONNECTIONS": "8",
            }
        )
        timings = []
        async with App(settings, load_config(config_dir)) as app:
            for round_ in range(rounds + 1):  # round 0 warms up the worker pool
                count = len(pages) if round_ else 4
                items = [
                    {"title": f"Seite {i}", "link": server.url(f"/page/{i}?round={round_}")}
                    for i in range(count)
                ]
                feed = FeedConfig(
                    name=f"Bench {round_}", url=server.add(f"/feed{round_}.xml", rss(items))
                )
                start = time.perf_counter()
                result = await app.poll(feed)
                elapsed = time.perf_counter() - start
                assert result.ok and result.new == count, result
                if round_:
                    timings.append(elapsed)
        return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    pages = [path.read_bytes() for path in sorted(PAGES.glob("*.html"))]
    if not pages:
        print(f"no pages in {PAGES}; nothing to measure")
        return 1
    print(
        f"bench/ingest run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({platform.machine()}, Python {platform.python_version()})"
    )
    print(f"command: python bench/ingest/run.py --rounds {args.rounds}")
    print(f"{len(pages)} real pages, {sum(map(len, pages)) / 2**20:.1f} MiB of HTML")
    bare_times = [bare(pages) for _ in range(args.rounds)]
    ours = asyncio.run(pipeline(pages, args.rounds))
    best_bare, best_ours = min(bare_times), min(ours)
    print(
        f"bare trafilatura, 2 processes: {len(pages) / best_bare:.1f} pages/s (best of {args.rounds}: {best_bare:.2f} s)"
    )
    print(
        f"pipeline (fetch, extract, match, store): {len(pages) / best_ours:.1f} pages/s (best of {args.rounds}: {best_ours:.2f} s)"
    )
    print(f"ratio pipeline / bare: {best_bare / best_ours:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
