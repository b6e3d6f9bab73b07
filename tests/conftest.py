"""Shared fixtures: feed and page builders, a config directory, a clean environment."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from monitor.store import Store
from tests.servers import ContentServer, FakeTelegram

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijk"
GROUP_CHAT = "-1001234567890"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Start the slow tests first: each spends tens of seconds waiting out a fault, and run
    last on a busy worker one of them alone decides when a parallel run ends."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def rss(items: list[dict[str, Any]], title: str = "Test feed") -> str:
    """Build an RSS 2.0 document; each item has title, link and optional guid, description, date."""
    parts = []
    for item in items:
        date = item.get("date", datetime.now(UTC) - timedelta(minutes=5))
        parts.append(
            "<item>"
            f"<title>{escape(item['title'])}</title>"
            f"<link>{escape(item['link'])}</link>"
            f'<guid isPermaLink="false">{escape(item.get("guid", item["link"]))}</guid>'
            f"<description>{escape(item.get('description', ''))}</description>"
            + (f"<pubDate>{format_datetime(date)}</pubDate>" if date else "")
            + "</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>http://example.org/</link><description>t</description>"
        + "".join(parts)
        + "</channel></rss>"
    )


def article_page(title: str, paragraphs: list[str]) -> str:
    """Build an article page with navigation and footer boilerplate around the main text."""
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (
        f'<!DOCTYPE html><html lang="de"><head><meta charset="utf-8"><title>{escape(title)}</title></head>'
        '<body><nav><a href="/">Startseite</a> <a href="/politik">Politik</a></nav>'
        f"<main><article><h1>{escape(title)}</h1>{body}</article></main>"
        "<footer>Impressum · Datenschutz · Kontakt</footer></body></html>"
    )


TROOPS_PARAGRAPHS = [
    "Nach Angaben des südkoreanischen Geheimdienstes sind weitere nordkoreanische Soldaten in "
    "der russischen Region Kursk eingetroffen. Sie sollen dort an der Seite russischer Einheiten "
    "gegen ukrainische Truppen kämpfen.",
    "Die Regierung in Seoul spricht von mehreren Tausend Mann, die zuvor in Wladiwostok "
    "ausgebildet worden seien. Moskau und Pjöngjang äußerten sich zunächst nicht zu dem Bericht.",
    "Beobachter werten die Entsendung als neuen Schritt in der militärischen Zusammenarbeit der "
    "beiden Staaten, die im Sommer einen Beistandsvertrag unterzeichnet hatten.",
]
WEATHER_PARAGRAPHS = [
    "Der Deutsche Wetterdienst erwartet für das Wochenende kräftige Schneefälle in den "
    "Mittelgebirgen. Vor allem im Harz und im Erzgebirge könne es bis zu dreißig Zentimeter "
    "Neuschnee geben.",
    "Autofahrer sollten sich auf glatte Straßen einstellen. In den Niederungen bleibt es dagegen "
    "bei Regen und Temperaturen knapp über dem Gefrierpunkt, teilte der Wetterdienst mit.",
    "Zum Beginn der neuen Woche wird es milder, die Schneefallgrenze steigt deutlich an.",
]
SHELLS_PARAGRAPHS = [
    "Nordkorea hat Russland nach Erkenntnissen westlicher Geheimdienste erneut Millionen "
    "Artilleriegeschosse und ballistische Raketen geliefert. Die Munition werde per Zug und "
    "Schiff an die Front in der Ukraine gebracht.",
    "Die Lieferungen verstoßen nach Ansicht mehrerer Regierungen gegen Resolutionen des "
    "UN-Sicherheitsrats. Der Kreml bestreitet die Vorwürfe und spricht von Propaganda.",
    "Experten gehen davon aus, dass Pjöngjang im Gegenzug Devisen, Lebensmittel und Technik erhält.",
]


@pytest.fixture
def content() -> Iterator[ContentServer]:
    """A running feed/page server."""
    with ContentServer() as server:
        yield server


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    """A running fake Bot API that knows TOKEN and GROUP_CHAT."""
    with FakeTelegram(TOKEN, chats={GROUP_CHAT}) as fake:
        yield fake


@pytest.fixture
def bot(monkeypatch: pytest.MonkeyPatch, telegram: FakeTelegram) -> FakeTelegram:
    """The fake Bot API with the service pointed at it (token set, no group pacing)."""
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_URL", telegram.url)
    monkeypatch.setenv("MONITOR_TELEGRAM_GROUP_INTERVAL", "0")
    return telegram


def open_store(env: dict[str, str]) -> Store:
    """Open the SQLite database a test's service uses."""
    return Store.open(f"sqlite:///{Path(env['MONITOR_STATE_DIR']) / 'monitor.sqlite'}")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """A clean environment pointing at a config and state dir under tmp_path."""
    for name in list(os.environ):
        if name.startswith(("MONITOR_", "TELEGRAM_")) and name != "MONITOR_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    values = {
        "MONITOR_CONFIG_DIR": str(tmp_path / "config"),
        "MONITOR_STATE_DIR": str(tmp_path / "state"),
        "MONITOR_ALLOW_PRIVATE_NETWORKS": "true",
        "MONITOR_HTTP_TIMEOUT": "2",
        "MONITOR_FETCH_DEADLINE": "4",
        "MONITOR_HOST_DELAY": "0",  # every test server is 127.0.0.1: politeness is tested apart
        "MONITOR_HTTP_LISTEN": "127.0.0.1:0",  # probes on a free port: tests run side by side
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "config").mkdir()
    return values


WriteConfig = Callable[..., Path]


@pytest.fixture
def write_config(tmp_path: Path) -> WriteConfig:
    """Write feeds.yaml, the shipped topics.yaml (or given topics) and chats.yaml."""

    def write(
        feeds: list[dict[str, Any]],
        topics: list[dict[str, Any]] | None = None,
        chats: dict[str, Any] | None = None,
        terms: dict[str, str] | None = None,
    ) -> Path:
        directory = tmp_path / "config"
        directory.mkdir(exist_ok=True)
        (directory / "feeds.yaml").write_text(yaml.safe_dump({"feeds": feeds}, allow_unicode=True))
        if topics is None:
            shutil.copy(REPO / "config" / "topics.yaml", directory / "topics.yaml")
        else:
            document: dict[str, Any] = {"terms": terms} if terms else {}
            (directory / "topics.yaml").write_text(
                yaml.safe_dump({**document, "topics": topics}, allow_unicode=True)
            )
        chats = chats if chats is not None else {"default": int(GROUP_CHAT)}
        (directory / "chats.yaml").write_text(yaml.safe_dump({"chats": chats}))
        return directory

    return write


def needs_shared(path: str) -> Path:
    """Return a path under ../shared, skipping the test when it is not there."""
    full = SHARED / path
    if not full.exists():
        pytest.skip(f"{full} not available")
    return full


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or (when MONITOR_TEST_POSTGRES_URL is set) a
    PostgreSQL database of its own, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'monitor.sqlite'}"
        return
    with fresh_postgres() as url:
        yield url


@contextlib.contextmanager
def fresh_postgres() -> Iterator[str]:
    """Create a PostgreSQL database for one test; skip when no test server is configured."""
    server = os.environ.get("MONITOR_TEST_POSTGRES_URL")
    if not server:
        pytest.skip("MONITOR_TEST_POSTGRES_URL is not set (no PostgreSQL test server)")
    url = sa.engine.make_url(server)
    name = f"monitor_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def wait_until(check: Callable[[], object], what: str, seconds: float = 30) -> None:
    """Poll `check` until it returns something true; fail naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
