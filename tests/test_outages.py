"""A dependency goes away mid-run and comes back: nothing lost, few duplicates, calm logs.

`monitor run` polls feeds that keep releasing matching reports and delivers to the fake Bot API
while one dependency misbehaves: the SQLite state turns read-only, Telegram stops answering,
Telegram answers 502 with an HTML page, PostgreSQL stops. After each fault the service must,
without a restart: deliver every alert (none lost), send at most 2 twice, answer /healthz 200
again within 10 s (503 while the database refuses writes), log no traceback and at most 10
warning lines per minute of fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import json
import logging
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.app import App
from monitor.cli import main
from monitor.config import Settings, load_config
from monitor.errors import StoreUnavailable
from monitor.outages import Outage
from monitor.store import FeedState, Store
from tests.conftest import TOKEN, WriteConfig, needs_shared, rss, wait_until
from tests.servers import ContentServer, FakeTelegram
from tests.test_stories import publish, seed, two_outlets

FEEDS = 12
INTERVAL = 30  # the shortest feed interval config allows; feeds start spread over it
# Each report its own event (another place, source, figure and day), so each is a message.
PLACES = ("Kursk", "Belgorod", "Wladiwostok", "Rason", "Chabarowsk", "Donezk", "Brjansk")
SOURCES = ("Seoul", "Kiew", "Washington", "Tokio", "London", "die NATO", "Brüssel")
ARMS = ("Artilleriegranaten", "ballistische Raketen", "Raketenwerfer", "Haubitzen", "Munition")


class Stream:
    """Feeds on `content` that gain one matching report every `every` seconds, round robin."""

    def __init__(self, content: ContentServer, every: float = 1.5) -> None:
        self.content = content
        self.every = every
        self.items: dict[int, list[dict[str, str]]] = {feed: [] for feed in range(FEEDS)}
        self.titles: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        for feed in range(FEEDS):
            self.release(feed)

    def url(self, feed: int) -> str:
        return self.content.url(f"/feed{feed}.xml")

    def release(self, feed: int) -> None:
        n = len(self.titles) + 1
        place, source, arms = PLACES[n % 7], SOURCES[n // 7 % 7], ARMS[n // 49 % 5]
        title = f"Meldung {n}: Nordkorea liefert {arms} nach {place}"
        summary = (
            f"{source} berichtet am {n % 28 + 1}. Oktober von {n * 1370 + 11} Soldaten aus "
            f"Nordkorea in {place} und einer Lieferung von {arms} an Russland (Meldung {n})."
        )
        # the link refuses connections at once: the summary is the text, no page to extract
        item = {"title": title, "link": f"http://127.0.0.1:9/m{n}", "description": summary}
        self.items[feed].append(item)
        self.titles.append(title)
        self.content.add(f"/feed{feed}.xml", rss(self.items[feed]))

    def start(self) -> Stream:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        feed = 0
        while not self._stop.wait(self.every):
            self.release(feed)
            feed = (feed + 1) % FEEDS


@dataclass
class Service:
    """`monitor run` in a child process; its log lines with the time each arrived."""

    child: subprocess.Popen[str]
    lines: list[tuple[float, str]] = field(default_factory=list)
    port: int | None = None

    @classmethod
    def start(cls, env: dict[str, str], prefix: list[str]) -> Service:
        child = subprocess.Popen(
            [*prefix, sys.executable, "-m", "monitor", "run"],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        service = cls(child)
        threading.Thread(target=service._read, daemon=True).start()
        wait_until(lambda: service.port, "the probe port in the log", 30)
        return service

    def _read(self) -> None:
        assert self.child.stderr is not None
        for line in self.child.stderr:
            self.lines.append((time.monotonic(), line.rstrip("\n")))
            found = re.search(r"health and metrics on port (\d+)", line)
            if found:
                self.port = int(found.group(1))

    def health(self) -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as r:
                return int(r.status)
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return 0

    def health_becomes(self, status: int, within: float) -> None:
        """Wait until /healthz answers `status`; fail with the log after `within` seconds."""
        try:
            wait_until(lambda: self.health() == status, f"/healthz {status}", within)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the log:\n{self.log()}") from None

    def warnings_between(self, start: float, end: float) -> list[str]:
        return [
            line
            for at, line in self.lines
            if start <= at <= end and re.search(r"\b(WARNING|ERROR|CRITICAL)\b", line)
        ]

    def stop(self) -> int:
        if self.child.poll() is None:
            self.child.send_signal(signal.SIGTERM)
        try:
            return self.child.wait(20)
        finally:
            if self.child.poll() is None:
                self.child.kill()
                self.child.wait()

    def log(self) -> str:
        return "\n".join(line for _, line in self.lines)


def outbox(database_url: str) -> list[tuple[str, str, str | None]]:
    """Every alert's title, status and message id, read straight from the database."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT payload, status, message_id FROM alerts")).all()
    finally:
        engine.dispose()
    return [
        (json.loads(payload)["title"], status, message_id) for payload, status, message_id in rows
    ]


@dataclass
class Verdict:
    lost: list[str]
    duplicates: int
    repeated: list[str]


def verdict(stream: Stream, telegram: FakeTelegram, database_url: str) -> Verdict:
    """Which released reports never reached the chat, and how many sends repeated one."""
    delivered = {str(m["message_id"]) for m in telegram.messages}
    reached = {
        title
        for title, status, message_id in outbox(database_url)
        if status == "sent" and message_id in delivered
    }
    # A report goes out alone or as an item of a grouped message (the burst after an outage),
    # so a send is its title in a message; edits rewrite a message in place and count once.
    sends = Counter(
        title for m in telegram.messages for title in stream.titles if title in m["visible"]
    )
    return Verdict(
        lost=[t for t in stream.titles if t not in reached],
        duplicates=sum(count - 1 for count in sends.values()),
        repeated=sorted(title for title, count in sends.items() if count > 1),
    )


def feed_states(database_url: str) -> dict[str, FeedState | None]:
    """What the database holds about each feed (None: never polled, so due now)."""
    store = Store.open(database_url)
    try:
        return {f"Feed {i}": store.feeds.state(f"Feed {i}") for i in range(FEEDS)}
    finally:
        store.close()


def resumed(database_url: str, ended: float) -> None:
    """After the fault, with reports still coming: the feeds' own schedule polls again (a poll
    after the fault is recorded), and the fault pushed no feed's next poll out beyond a feed
    interval and a delivery (the time the test used to wait for the schedule to bring in every
    report); so the poll `drain` asks for only brings forward what the schedule would do."""
    since = datetime.now(UTC) - timedelta(seconds=time.monotonic() - ended)

    def polled_since() -> bool:
        states = feed_states(database_url).values()
        return any(s and s.last_success_at and s.last_success_at > since for s in states)

    wait_until(polled_since, "a poll on the feeds' schedule after the fault", INTERVAL + 10)
    latest = datetime.now(UTC) + timedelta(seconds=INTERVAL + 30)
    late = {
        name: state.next_poll_at
        for name, state in feed_states(database_url).items()
        if state and state.next_poll_at and state.next_poll_at > latest
    }
    assert not late, f"the fault pushed these feeds' next polls out: {late}"


def drain(service: Service, stream: Stream, telegram: FakeTelegram, database_url: str) -> Verdict:
    """Stop releasing, ask the service to poll every feed now (SIGUSR1, as an operator may
    after an outage) instead of waiting out the feed interval, and wait until every report is
    in; delivery recovers on its own (the deadline still allows an interval and a delivery)."""
    stream.stop()
    service.child.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + INTERVAL + 30
    result = verdict(stream, telegram, database_url)
    while result.lost and time.monotonic() < deadline:
        time.sleep(1)
        result = verdict(stream, telegram, database_url)
    return result


def without_file_access_override() -> list[str]:
    """A command prefix under which file modes bind, even for root (who ignores them)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: a read-only directory cannot be made")
    drop = "-dac_override,-dac_read_search,-fowner"
    return [setpriv, f"--inh-caps={drop}", f"--bounding-set={drop}"]


def set_writable(directory: Path, writable: bool) -> None:
    for path in [directory, *directory.iterdir()]:
        mode = path.stat().st_mode
        path.chmod(mode | 0o200 if writable else mode & ~0o222)


@pytest.fixture
def stream(content: ContentServer, write_config: WriteConfig) -> Iterator[Stream]:
    feeds = Stream(content)
    write_config(
        [{"name": f"Feed {i}", "url": feeds.url(i), "interval": INTERVAL} for i in range(FEEDS)]
    )
    yield feeds
    feeds.stop() if feeds._thread.is_alive() else None


def telegram_env(env: dict[str, str], telegram: FakeTelegram) -> dict[str, str]:
    return {
        **env,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": telegram.url,
        "MONITOR_TELEGRAM_GROUP_INTERVAL": "0",
    }


def check_recovery(service: Service, result: Verdict, code: int, start: float, end: float) -> str:
    """Nothing lost, at most 2 duplicates, a clean stop, no traceback, and at most 10 warning
    lines per started minute of fault (and the one after it); return the log."""
    log = service.log()
    assert result.lost == [], log
    assert result.duplicates <= 2, f"{log}\nsent more than once: {result.repeated}"
    assert code == 0, log
    assert "Traceback" not in log
    lines = service.warnings_between(start, end + 10)
    budget = 10 * (1 + int((end - start) // 60))
    assert len(lines) <= budget, "\n".join(lines)
    return log


class SmallDisk:
    """The state directory on a small tmpfs of its own, to fill up and free again."""

    def __init__(self, directory: Path) -> None:
        if os.geteuid() != 0 or shutil.which("mount") is None:
            pytest.skip("filling a disk needs root to mount a small tmpfs")
        directory.mkdir(parents=True, exist_ok=True)
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(directory)],
            capture_output=True,
            text=True,
        )
        if mounted.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
        self.directory = directory
        self.filler = directory / "filler"

    def fill(self) -> None:
        # ENOSPC ends it: the disk is full
        with contextlib.suppress(OSError), self.filler.open("wb", buffering=0) as out:
            while True:
                out.write(b"\0" * 65536)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def remove(self) -> None:
        subprocess.run(["umount", "-l", str(self.directory)], capture_output=True)


@pytest.fixture
def small_disk(env: dict[str, str]) -> Iterator[SmallDisk]:
    disk = SmallDisk(Path(env["MONITOR_STATE_DIR"]))
    yield disk
    disk.remove()


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_sqlite_state_full_then_free_again(
    env: dict[str, str], stream: Stream, telegram: FakeTelegram, small_disk: SmallDisk
) -> None:
    database_url = f"sqlite:///{small_disk.directory / 'monitor.sqlite'}"
    service = Service.start(telegram_env(env, telegram), [])
    try:
        stream.start()
        wait_until(lambda: telegram.messages, "the first alert", 30)
        assert service.health() == 200

        started = time.monotonic()
        small_disk.fill()
        try:
            service.health_becomes(503, within=10)
            time.sleep(max(0.0, 12 - (time.monotonic() - started)))
        finally:
            small_disk.free()
        ended = time.monotonic()
        service.health_becomes(200, within=10)
        resumed(database_url, ended)
        result = drain(service, stream, telegram, database_url)
    finally:
        code = service.stop()
    log = check_recovery(service, result, code, started, ended)
    assert "database unavailable: database or disk is full" in log
    assert "database available again" in log


def test_stopped_while_the_state_is_full_exits_cleanly(
    env: dict[str, str], stream: Stream, small_disk: SmallDisk
) -> None:
    service = Service.start(env, [])
    try:
        stream.start()
        service.health_becomes(200, within=10)
        small_disk.fill()
        try:
            service.health_becomes(503, within=10)
            code = service.stop()
        finally:
            small_disk.free()
    finally:
        service.stop()
    log = service.log()
    assert code == 0, log
    assert "Traceback" not in log
    assert log.rstrip().endswith("stopped"), log


READ_ONLY_SCRIPT = """
import json, sys
from datetime import UTC, datetime
from pathlib import Path
from monitor.errors import StoreUnavailable
from monitor.store import Store

state = Path(sys.argv[1])
store = Store.open(f"sqlite:///{state / 'monitor.sqlite'}")

def writable(yes):
    for f in [state, *state.iterdir()]:
        mode = f.stat().st_mode
        f.chmod(mode | 0o200 if yes else mode & ~0o222)

def beat():
    try:
        store.heartbeats.beat(datetime.now(UTC))
        return "ok"
    except StoreUnavailable as exc:
        return exc.reason

outcomes = [beat()]
writable(False)
outcomes.append(beat())  # a connection opened before the fault still writes
store.close()  # from now on connections are opened while the files are read-only
outcomes += [beat(), beat()]
writable(True)
outcomes += [beat(), beat()]
print(json.dumps(outcomes))
"""


def test_a_connection_opened_while_the_state_was_read_only_is_not_kept(tmp_path: Path) -> None:
    """SQLite keeps a read-only view of the files while a connection opened during the fault
    lives on, even unreferenced; the store must drop it so writes work once the files do."""
    state = tmp_path / "state"
    state.mkdir()
    result = subprocess.run(
        [*without_file_access_override(), sys.executable, "-c", READ_ONLY_SCRIPT, str(state)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.returncode == 0, result.stderr
    readonly = "attempt to write a readonly database"
    assert json.loads(result.stdout) == ["ok", "ok", readonly, readonly, "ok", "ok"]


@pytest.mark.slow
@pytest.mark.timeout(150)
@pytest.mark.parametrize("fault", ["hang", "502"])
def test_telegram_away_then_back(
    env: dict[str, str],
    stream: Stream,
    telegram: FakeTelegram,
    fault: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    database_url = f"sqlite:///{Path(env['MONITOR_STATE_DIR']) / 'monitor.sqlite'}"
    service = Service.start(telegram_env(env, telegram), [])
    try:
        stream.start()
        wait_until(lambda: telegram.messages, "the first alert", 30)
        started = time.monotonic()
        telegram.hang.set() if fault == "hang" else setattr(telegram, "bad_gateway", True)
        queued = len(outbox(database_url))
        time.sleep(12)
        assert len(outbox(database_url)) > queued, "polls waited for the stuck delivery"
        assert service.health() == 200  # the service itself is fine meanwhile
        telegram.hang.clear()
        telegram.release_hung()
        telegram.bad_gateway = False
        ended = time.monotonic()
        # polls went on during the fault (the outbox grew): only delivery has to recover
        result = drain(service, stream, telegram, database_url)
        with urllib.request.urlopen(f"http://127.0.0.1:{service.port}/metrics") as page:
            metrics = page.read().decode()
    finally:
        code = service.stop()
    ambiguous = re.findall(r"^monitor_ambiguous_sends_total\{[^}]*\} (\S+)", metrics, re.M)
    if fault == "hang":  # each unanswered send was retried, and counted
        assert ambiguous and float(ambiguous[0]) >= 1
        assert main(["status"]) == 0
        assert "retried after a send Telegram never answered" in capsys.readouterr().out
    else:  # a 502 is an answer: Telegram did not take the message
        assert not ambiguous
    log = check_recovery(service, result, code, started, ended)
    assert "<html" not in log.lower()  # a proxy's page is not logged
    assert "Telegram Bot API unavailable" in log and "Telegram Bot API available again" in log


class Cluster:
    """A throwaway PostgreSQL server on a free port, to stop and start at will."""

    def __init__(self) -> None:
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not binaries:
            pytest.skip("no PostgreSQL server binaries (pg_ctl) on this machine")
        self.bin = Path(binaries[-1]).parent
        self.user: list[str] = []
        self.base = Path(tempfile.mkdtemp(prefix="monitor-pg-"))
        if os.geteuid() == 0:  # initdb refuses to run as root
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root and there is no postgres user for initdb")
            os.chown(self.base, owner.pw_uid, owner.pw_gid)
            self.user = ["runuser", "-u", "postgres", "--"]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._run("initdb", "-D", str(self.base / "data"), "-A", "trust", "-U", "postgres")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        # the server pg_ctl starts inherits no pipe of ours (its output goes to a log file)
        subprocess.run(
            [*self.user, str(self.bin / tool), *args],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
        data, log = str(self.base / "data"), str(self.base / "server.log")
        self._run("pg_ctl", "-D", data, "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.base / "data"), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_postgresql_stopped_then_started(
    env: dict[str, str], stream: Stream, telegram: FakeTelegram
) -> None:
    cluster = Cluster()
    try:
        cluster.start()
        service = Service.start(
            {**telegram_env(env, telegram), "MONITOR_DATABASE_URL": cluster.url}, []
        )
        try:
            stream.start()
            wait_until(lambda: telegram.messages, "the first alert", 30)
            started = time.monotonic()
            cluster.stop()
            service.health_becomes(503, within=10)
            time.sleep(max(0.0, 12 - (time.monotonic() - started)))
            cluster.start()
            ended = time.monotonic()
            service.health_becomes(200, within=10)
            resumed(cluster.url, ended)
            result = drain(service, stream, telegram, cluster.url)
        finally:
            code = service.stop()
    finally:
        cluster.remove()
    log = check_recovery(service, result, code, started, ended)
    assert "database unavailable" in log and "database available again" in log


LEDGER_SCRIPT = """
import asyncio, json, sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from monitor.dedup import entry_keys
from monitor.deliver import Ledger, deliver_pending
from monitor.errors import StoreUnavailable
from monitor.models import Alert, Article, Entry
from monitor.store import NewEntry, Store

path = Path(sys.argv[1])
now = datetime.now(UTC)
store = Store.open(f"sqlite:///{path}")
for n in (1, 2):
    item = Entry("F", None, f"https://e.org/{n}", f"Titel {n}", "s", now)
    alert = Alert("default", "-100", item.title, item.link, "F", now, ("T",), "s", (), True)
    store.entries.record("F", [NewEntry(item, entry_keys(item), Article(item, "Text", True), (alert,))], now)

def writable(yes):
    for f in [path.parent, *path.parent.iterdir()]:
        mode = f.stat().st_mode
        f.chmod(mode | 0o200 if yes else mode & ~0o222)

class Sink:
    sent = []
    async def send(self, alert, chat_id, reply_to=None):
        self.sent.append(alert.title)
        if len(self.sent) == 1:  # Telegram took it; now the state turns read-only
            store.close()
            writable(False)
        return str(len(self.sent))

ledger, sink, outcomes = Ledger(), Sink(), []
def deliver():
    try:
        asyncio.run(deliver_pending(store, sink, now, {}, timedelta(hours=1), ledger=ledger))
        outcomes.append("ok")
    except StoreUnavailable:
        outcomes.append(f"unavailable, {len(ledger.unrecorded)} unrecorded")
deliver()
deliver()
writable(True)
deliver()
print(json.dumps({"sent": sink.sent, "outcomes": outcomes, "outbox": store.outbox.counts()}))
"""


def test_a_send_the_database_cannot_record_is_recorded_before_anything_else(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    database = str(state / "monitor.sqlite")
    result = subprocess.run(
        [*without_file_access_override(), sys.executable, "-c", LEDGER_SCRIPT, database],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "sent": ["Titel 1", "Titel 2"],  # the first once: its mark waited in memory
        "outcomes": ["unavailable, 1 unrecorded", "unavailable, 1 unrecorded", "ok"],
        "outbox": {"sent": 2},
    }


def test_an_outage_logs_its_start_a_summary_a_minute_and_its_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    outage = Outage("database", "polls wait", clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="monitor.outages"):
        outage.ok()  # nothing to end
        for second in range(150):
            now[0] = second
            outage.failed("read-only", deferred="poll")
        assert outage.down and outage.reason == "read-only"
        now[0] = 151.0
        outage.ok()
        outage.ok()
    assert not outage.down
    assert [record.getMessage() for record in caplog.records] == [
        "database unavailable: read-only; polls wait until it is back",
        "database still unavailable after 1m 00s (read-only); deferred so far: 61 polls",
        "database still unavailable after 2m 00s (read-only); deferred so far: 121 polls",
        "database available again after 2m 31s; deferred meanwhile: 150 polls",
    ]


def test_an_unreachable_feed_host_is_one_warning_not_one_per_feed(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as probe:  # a port nothing listens on: connections are refused
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    feeds = [
        {"name": f"Down {i}", "url": f"http://127.0.0.1:{closed}/feed{i}.xml"} for i in range(4)
    ]
    write_config([*feeds, {"name": "Up", "url": Stream(content).url(0)}])
    assert main(["once"]) == 0
    lines = capsys.readouterr().err.splitlines()
    hosts = [line for line in lines if "feed host " in line]
    assert len(hosts) == 1 and f"127.0.0.1:{closed} unavailable: network error" in hosts[0]
    assert " WARNING " in hosts[0]
    failed = [line.split()[1] for line in lines if ": feed Down " in line]
    # every feed's failure is still logged, but only the first one as a warning
    assert sorted(failed) == ["INFO"] * 3 + ["WARNING"]


@pytest.mark.timeout(120)
def test_a_story_window_read_the_database_broke_off_is_read_whole_next_time(
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    write_config: WriteConfig,
    content: ContentServer,
    bot: FakeTelegram,
) -> None:
    """The service reads the stored story window only when a poll first brings a new item. A
    read the database breaks off is not kept half-done (the next report would be compared with
    part of the window, and a second outlet's copy of a stored report would notify again): the
    next poll reads the window whole."""
    first = seed(needs_shared("seeds/000_34166f1e3ee4ca51.txt"))
    cluster = Cluster()
    try:
        cluster.start()
        monkeypatch.setenv("MONITOR_DATABASE_URL", cluster.url)
        two_outlets(content, write_config)
        publish(content, "/zeit.xml", [("/zeit/g7", *first)])
        assert main(["once"]) == 0 and len(bot.messages) == 1
        config = load_config(Path(env["MONITOR_CONFIG_DIR"]))

        async def read_twice() -> int:
            async with App(Settings.from_env(os.environ), config) as app:
                cluster.stop()
                with pytest.raises(StoreUnavailable):
                    app.deps.stories()
                cluster.start()
                return len(app.deps.stories())

        assert asyncio.run(read_twice()) == 1, "the stored report, read whole"
    finally:
        cluster.remove()
