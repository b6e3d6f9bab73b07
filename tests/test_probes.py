"""/healthz and /metrics: scraped over HTTP while the real pipeline runs; the figures move."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from monitor.app import App
from monitor.config import Settings, load_config
from tests.conftest import TROOPS_PARAGRAPHS, WEATHER_PARAGRAPHS, WriteConfig, article_page, rss
from tests.servers import ContentServer


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def sample(text: str, name: str, **labels: str) -> float:
    """Return one sample's value from Prometheus text, 0 when it is absent."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        found = re.fullmatch(rf"{name}(?:\{{([^}}]*)\}})? (\S+)", line)
        if found and ",".join(sorted((found[1] or "").split(","))) == wanted:
            return float(found[2])
    return 0.0


def two_articles(content: ContentServer, write_config: WriteConfig) -> tuple[str, str]:
    troops = content.add(
        "/troops", article_page("Nordkoreas Soldaten", TROOPS_PARAGRAPHS), "text/html"
    )
    snow = content.add("/snow", article_page("Schnee im Harz", WEATHER_PARAGRAPHS), "text/html")
    content.add("/feed.xml", rss([]))
    write_config([{"name": "Outlet", "url": content.url("/feed.xml")}])
    return troops, snow


def test_metrics_and_health_move_as_the_pipeline_runs(
    env: dict[str, str], write_config: WriteConfig, content: ContentServer
) -> None:
    troops, snow = two_articles(content, write_config)
    settings = Settings.from_env(os.environ)
    config = load_config(settings.config_dir)

    async def scenario() -> None:
        async with App(settings, config) as app:
            app._start_probes()
            assert app.probes is not None
            base = f"http://127.0.0.1:{app.probes.port}"
            status, body = await asyncio.to_thread(get, f"{base}/healthz")
            assert status == 503 and "never run" in json.loads(body)["reason"]

            await app.run_once()
            app._beat(datetime.now(UTC))
            _, before = await asyncio.to_thread(get, f"{base}/metrics")
            assert sample(before, "monitor_feed_polls_total", feed="Outlet", outcome="ok") == 1
            assert sample(before, "monitor_feed_items_total", feed="Outlet") == 0

            content.add(
                "/feed.xml",
                rss(
                    [
                        {"title": "Nordkoreas Soldaten", "link": troops},
                        {"title": "Schnee", "link": snow},
                    ]
                ),
            )
            await app.run_once()
            app._beat(datetime.now(UTC))
            _, after = await asyncio.to_thread(get, f"{base}/metrics")
            status, body = await asyncio.to_thread(get, f"{base}/healthz")
            app.probes.stop()
            app.probes = None
        assert status == 200 and json.loads(body)["healthy"] is True
        assert sample(after, "monitor_feed_polls_total", feed="Outlet", outcome="ok") == 2
        assert sample(after, "monitor_feed_items_total", feed="Outlet") == 2
        assert sample(after, "monitor_articles_total", source="page") == 2
        assert sample(after, "monitor_extraction_seconds_count") == 2
        assert (
            sample(after, "monitor_topic_matches_total", topic="North Korean troops in Russia") >= 1
        )
        assert sample(after, "monitor_alerts_queued_total", chat="default") == 1
        assert sample(after, "monitor_alerts_sent_total", chat="default", via="message") == 1
        assert sample(after, "monitor_delivery_latency_seconds_count") == 1
        assert sample(after, "monitor_outbox_alerts", status="sent") == 1
        assert sample(after, "monitor_outbox_alerts", status="pending") == 0
        assert sample(after, "monitor_config_reloads_total", outcome="failed") == 0
        assert sample(after, "monitor_heartbeat_timestamp_seconds") > time.time() - 60

    asyncio.run(scenario())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_running_service_answers_healthz_and_refuses_other_paths(
    env: dict[str, str], write_config: WriteConfig, content: ContentServer
) -> None:
    content.add("/feed.xml", rss([]))
    write_config([{"name": "Outlet", "url": content.url("/feed.xml"), "interval": 30}])
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run"],
        env={**os.environ, **env, "MONITOR_HTTP_LISTEN": f"127.0.0.1:{port}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        status, body = 0, ""
        while time.monotonic() < deadline and child.poll() is None:
            try:
                status, body = get(f"http://127.0.0.1:{port}/healthz")
            except OSError:
                time.sleep(0.2)
                continue
            if status == 200:
                break
            time.sleep(0.2)
        assert status == 200, body
        assert json.loads(body)["database"] == "ok"
        assert get(f"http://127.0.0.1:{port}/nope")[0] == 404
        _, metrics = get(f"http://127.0.0.1:{port}/metrics")
        assert "monitor_feed_polls_total" in metrics
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    assert f"health and metrics on port {port}" in err


def test_a_taken_port_is_a_clear_error(
    env: dict[str, str], write_config: WriteConfig, content: ContentServer
) -> None:
    content.add("/feed.xml", rss([]))
    write_config([{"name": "Outlet", "url": content.url("/feed.xml")}])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "monitor", "run"],
            env={**os.environ, **env, "MONITOR_HTTP_LISTEN": f"127.0.0.1:{port}"},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port} for /healthz and /metrics" in result.stderr
    assert "Traceback" not in result.stderr
    assert Path(env["MONITOR_STATE_DIR"]).exists()
