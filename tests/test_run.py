"""`monitor run`: the service polls on schedule, delivers, and stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.app import App, check_state_dir
from monitor.cli import main
from monitor.config import Settings, load_config
from monitor.errors import MonitorError
from monitor.store import Store
from tests.conftest import TOKEN, TROOPS_PARAGRAPHS, WriteConfig, article_page, rss, wait_until
from tests.servers import ContentServer, FakeTelegram


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_run_alerts_then_stops_cleanly(
    env: dict[str, str], write_config: WriteConfig, content: ContentServer, signum: signal.Signals
) -> None:
    page = content.add(
        "/troops", article_page("Nordkoreas Soldaten in Kursk", TROOPS_PARAGRAPHS), "text/html"
    )
    write_config(
        [
            {
                "name": "Outlet",
                "url": content.add(
                    "/feed.xml", rss([{"title": "Nordkoreas Soldaten in Kursk", "link": page}])
                ),
                "interval": 30,
            }
        ]
    )
    alerts = Path(env["MONITOR_STATE_DIR"]) / "alerts.jsonl"
    child = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not alerts.exists() and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.2)
        assert alerts.exists(), "no alert was delivered by the running service"
        assert main(["health"]) == 0  # the running service keeps its heartbeat fresh
        child.send_signal(signum)
        signalled = time.monotonic()
        out, err = child.communicate(timeout=20)
        stopped_in = time.monotonic() - signalled
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    assert "Nordkoreas Soldaten in Kursk" in out
    assert "monitoring 1 feeds for 6 topics" in err
    assert "stopped" in err
    assert stopped_in < 12, f"took {stopped_in:.1f} s to stop (the container allows 10 s + margin)"
    assert "Traceback" not in err


def test_health_fails_without_a_fresh_heartbeat(
    env: dict[str, str], write_config: WriteConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config([{"name": "Outlet", "url": "https://example.org/feed.xml"}])
    assert main(["health"]) == 1
    assert "unhealthy: the service has never run here" in capsys.readouterr().err

    store = Store.open(f"sqlite:///{Path(env['MONITOR_STATE_DIR']) / 'monitor.sqlite'}")
    store.heartbeats.beat(datetime.now(UTC) - timedelta(minutes=10))
    assert main(["health"]) == 1
    # 600 s, or a second or two more when this machine is slow between the write and the check
    assert re.search(
        r"unhealthy: last heartbeat 60[0-5] s ago \(limit 30 s\)", capsys.readouterr().err
    )
    store.heartbeats.beat(datetime.now(UTC))
    store.close()
    assert main(["health"]) == 0
    assert re.match(r"healthy: last heartbeat [0-5] s ago", capsys.readouterr().out)


async def test_the_heartbeat_goes_on_while_a_delivery_round_holds_the_outbox(
    env: dict[str, str], write_config: WriteConfig, content: ContentServer
) -> None:
    """A delivery round may wait minutes for Telegram (RetryAfter): the heartbeat, which
    `monitor health` and the container's HEALTHCHECK read, is a job of its own."""
    write_config([{"name": "Outlet", "url": content.add("/feed.xml", rss([])), "interval": 3600}])
    settings = Settings.from_env(os.environ)
    async with App(settings, load_config(settings.config_dir)) as app:
        stop = asyncio.Event()
        async with app._delivering:  # the round that waits for Telegram
            serving = asyncio.create_task(app.serve(stop))
            for _ in range(250):  # 5 s at most; the first beat is due at once
                if app.store.heartbeats.last() is not None:
                    break
                await asyncio.sleep(0.02)
            beat = app.store.heartbeats.last()
            stop.set()
        await serving
    assert beat is not None, "no heartbeat while a delivery round was under way"


def test_a_state_directory_that_cannot_be_created_is_named_with_the_fix(
    env: dict[str, str],
    write_config: WriteConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_config([{"name": "Outlet", "url": "https://example.org/feed.xml"}])
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    state = blocker / "state"  # under a regular file: nobody, root included, can make it
    monkeypatch.setenv("MONITOR_STATE_DIR", str(state))
    assert main(["run"]) == 1
    uid = os.geteuid()
    assert capsys.readouterr().err.splitlines() == [
        f"error: cannot write to the state directory {state} as uid {uid} (Not a directory): "
        f"give it to that user (a bind mount: `chown {uid} ./state` on the host) "
        "or use a named volume"
    ]


def test_a_state_directory_of_another_user_is_named_with_the_fix() -> None:
    """The bind-mount case: the directory exists but belongs to someone else. Modes bind every
    user but root, so as root the check runs in a child that has become `nobody`."""
    state = Path(tempfile.mkdtemp(prefix="monitor-state-"))
    try:
        if os.geteuid() == 0:
            state.chmod(0o755)  # root's: others may enter, not write
            uid, message = 65534, _check_as(65534, state)
        else:
            state.chmod(0o555)
            uid = os.geteuid()
            with pytest.raises(MonitorError) as raised:
                check_state_dir(state)
            message = str(raised.value)
    finally:
        state.chmod(0o700)
        state.rmdir()
    if message.startswith("skip: "):
        pytest.skip(message.removeprefix("skip: "))
    assert message == (
        f"cannot write to the state directory {state} as uid {uid} (Permission denied): "
        f"give it to that user (a bind mount: `chown {uid} ./state` on the host) "
        "or use a named volume"
    )


def _check_as(uid: int, state: Path) -> str:
    """Run `check_state_dir(state)` in a forked child that dropped to `uid`; return its error."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child reports through the pipe and never returns into pytest
        try:
            os.close(read)
            try:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
            except OSError as exc:
                os.write(write, f"skip: cannot become uid {uid}: {exc.strerror}".encode())
            else:
                try:
                    check_state_dir(state)
                    os.write(write, b"no error")
                except MonitorError as exc:
                    os.write(write, str(exc).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        message = pipe.read().decode()
    os.waitpid(pid, 0)
    return message


def test_a_restart_takes_over_its_dead_predecessors_leases_at_once(
    env: dict[str, str], write_config: WriteConfig, content: ContentServer, telegram: FakeTelegram
) -> None:
    """SIGKILLed while it holds the delivery lease and a feed claim, the service restarted with
    the default replica id (a new pid) delivers and polls at once, not after the leases end."""
    page = content.add("/a", article_page("Nordkoreas Soldaten in Kursk", ["Text."]), "text/html")
    feed = content.add(
        "/feed.xml", rss([{"title": "Nordkoreas Soldaten in Kursk", "link": page}]), delay=60
    )
    write_config([{"name": "Slow", "url": feed, "interval": 3600}])
    child_env = {
        **os.environ,
        **env,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": telegram.url,
        "MONITOR_HTTP_TIMEOUT": "90",
        "MONITOR_FETCH_DEADLINE": "90",
        "MONITOR_FEED_LEASE": "600",
    }
    first = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run"],
        env=child_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    state = Path(env["MONITOR_STATE_DIR"]) / "monitor.sqlite"

    def firsts_leases() -> dict[str, str]:
        if not state.exists():
            return {}
        store = Store.open(f"sqlite:///{state}")
        try:
            held = store.leases.holders(datetime.now(UTC))
            return {name: owner for name, owner in held.items() if owner.endswith(f"-{first.pid}")}
        finally:
            store.close()

    try:
        # the poll hangs on the slow feed: its claim and the delivery lease are held
        wait_until(lambda: "delivery" in firsts_leases(), "first's delivery lease")
        wait_until(lambda: content.requests, "the first poll to start")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    content.routes["/feed.xml"].delay = 0
    # The dead predecessor's delivery lease is made to hold ten minutes, as its feed claim does:
    # a delivery within the wait below can only come from taking both over, however slow the
    # machine (timing the 30-s lease instead failed on a busy night).
    owner = firsts_leases()["delivery"]
    store = Store.open(f"sqlite:///{state}")
    try:
        now = datetime.now(UTC)
        assert store.leases.acquire("delivery", owner, now, now + timedelta(minutes=10))
    finally:
        store.close()
    started = time.monotonic()
    second = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run"],
        env=child_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: telegram.messages, "the restarted service to deliver", seconds=90)
        took = time.monotonic() - started
    finally:
        second.send_signal(signal.SIGTERM)
        _, err = second.communicate(timeout=20)
    assert "an earlier run on this host that is gone" in err
    # Python start-up and the first poll take 4-6 s here; the leases would have held 600 s.
    assert took < 90, f"delivered {took:.1f} s after the restart"
    store = Store.open(f"sqlite:///{state}")
    try:
        assert not any(o.endswith(f"-{first.pid}") for o in store.leases.owners())
    finally:
        store.close()
