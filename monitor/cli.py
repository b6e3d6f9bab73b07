"""The `monitor` command: turn argv into an action and an exit code; the only module that prints."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from monitor import __version__, cli_tools, logs
from monitor.config import (
    FEEDS_FILE,
    Config,
    Settings,
    add_feeds,
    config_schemas,
    load_config,
    load_feeds,
    parse_duration,
    telegram_problems,
)
from monitor.errors import ConfigError, MonitorError, OpmlError
from monitor.status import graded_lines, heartbeat_health, pending_text, status_report
from monitor.store import Store, migrate_state

# The commands that run the pipeline import it when they run (as cli_tools.py does): `monitor
# health`, the container's HEALTHCHECK every 15 s, then loads the store only (0.3 s instead of
# 1 s of CPU per check). So does `import-opml` its OPML reader.

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2


def build_parser() -> argparse.ArgumentParser:
    """Describe the commands."""
    parser = argparse.ArgumentParser(
        prog="monitor",
        description="Poll news feeds, match articles against watch topics, alert Telegram chats.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="run the service: poll on schedule and deliver until stopped")
    once = commands.add_parser(
        "once", help="poll every enabled feed once, deliver everything it can, and exit"
    )
    once.add_argument(
        "--deliver-for",
        type=_deliver_for,
        metavar="DURATION",
        help="stop delivering after this long (e.g. 10m; default: until the outbox is empty)",
    )
    commands.add_parser("check", help="validate the configuration and exit (2 on problems)")
    commands.add_parser("status", help="show each feed's health and the outbox")
    commands.add_parser(
        "health", help="exit 0 if the running service's heartbeat is fresh, else 1 (HEALTHCHECK)"
    )
    explain = commands.add_parser(
        "explain", help="show how an article (URL or file) matches each topic, and why not"
    )
    explain.add_argument("source", help="article URL, saved HTML page, or text file (title first)")
    explain.add_argument("--topic", action="append", help="only this topic (repeatable)")
    explain.add_argument("--full", action="store_true", help="print the whole extracted text")
    backtest = commands.add_parser(
        "backtest", help="run topics over stored articles and compare with candidate topics"
    )
    backtest.add_argument("--since", type=_since, help="only articles seen since this ISO date")
    backtest.add_argument("--topics", type=Path, help="candidate topics file to compare")
    labels = commands.add_parser(
        "labels", help="export the articles analysts graded as a bench/quality set (YAML)"
    )
    labels.add_argument("action", choices=["export"], help="export: write the graded set")
    labels.add_argument("--out", type=Path, help="file to write (default: standard output)")
    schema = commands.add_parser(
        "schema", help="write JSON Schema for feeds.yaml, topics.yaml and chats.yaml"
    )
    schema.add_argument(
        "--out", type=Path, help="directory to write to (default: schema/ in the config directory)"
    )
    migrate = commands.add_parser(
        "migrate-state", help="copy the state database into another one (SQLite to PostgreSQL)"
    )
    migrate.add_argument(
        "--to", required=True, help="target SQLAlchemy URL, e.g. postgresql+psycopg://..."
    )
    commands.add_parser(
        "demo", help="run the pipeline once over bundled sample feeds, offline; alerts to console"
    )
    opml = commands.add_parser(
        "import-opml", help="add the feeds of an OPML export (another reader's) to feeds.yaml"
    )
    opml.add_argument("file", type=Path, help="the OPML file")
    opml.add_argument(
        "--interval", type=_interval, default=600, help="seconds between polls (30..86400)"
    )
    opml.add_argument(
        "--dry-run", action="store_true", help="show what would be added, change nothing"
    )
    return parser


def _deliver_for(text: str) -> float:
    duration = parse_duration(text)
    if duration is None or duration.total_seconds() <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 90s, 10m or 1h")
    return duration.total_seconds()


def _interval(text: str) -> int:
    if not text.isdigit() or not 30 <= int(text) <= 86400:
        raise argparse.ArgumentTypeError(f"not a number of seconds from 30 to 86400: {text!r}")
    return int(text)


def _since(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date: {text!r} (e.g. 2024-12-01)") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
        logs.setup(settings.log_level, settings.log_format, [settings.telegram_token])
        if args.command == "schema":
            return _schema(args.out or settings.config_dir / "schema")
        if args.command == "import-opml":
            feeds_file = settings.config_dir / FEEDS_FILE
            return _import_opml(feeds_file, args.file, args.interval, args.dry_run)
        if args.command == "migrate-state":
            return _migrate_state(settings.database_url, args.to)
        if args.command == "demo":  # the token and chat ids are not used: no Telegram check
            return asyncio.run(_demo(settings, load_config(settings.config_dir)))
        return _dispatch(args, settings, _configure(settings))
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_CONFIG
    except MonitorError as exc:
        redact = logs.RedactSecrets([os.environ.get("TELEGRAM_BOT_TOKEN", "")])
        print(f"error: {redact.redact(str(exc))}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_OK


def _configure(settings: Settings) -> Config:
    config = load_config(settings.config_dir)
    if settings.telegram_token and (problems := telegram_problems(config)):
        raise ConfigError(problems)
    return config


def _import_opml(feeds_file: Path, source: Path, interval: int, dry_run: bool) -> int:
    from monitor.opml import plan_import, read_opml

    try:
        data = source.read_bytes()
    except OSError as exc:
        print(f"error: cannot read {source}: {exc.strerror}", file=sys.stderr)
        return EXIT_FAILURE
    try:
        outlines = read_opml(data)
    except OpmlError as exc:
        print(f"error: {source}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    plan = plan_import(outlines, load_feeds(feeds_file), interval)
    for outline, reason in plan.skipped:
        print(f"skipped {outline.title!r} ({outline.url}): {reason}")
    for feed in plan.added:
        print(f"{'would add' if dry_run else 'added'} {feed.name!r}: {feed.url}")
    if plan.added and not dry_run:
        try:
            add_feeds(feeds_file, plan.added)
        except OSError as exc:
            print(f"error: cannot write {feeds_file}: {exc.strerror}", file=sys.stderr)
            return EXIT_FAILURE
    verb = "would add" if dry_run else "added"
    where = "" if dry_run or not plan.added else f"; see {feeds_file}"
    print(
        f"{len(outlines)} feeds in {source.name}: {verb} {len(plan.added)}, "
        f"skipped {len(plan.skipped)}{where}"
    )
    return EXIT_OK


def _migrate_state(source_url: str, target_url: str) -> int:
    shown, copied = migrate_state(source_url, target_url)
    rows = ", ".join(f"{count} {table}" for table, count in copied.items())
    print(f"copied into {shown}: {rows}")
    print("now set MONITOR_DATABASE_URL to it and start the service")
    return EXIT_OK


def _schema(directory: Path) -> int:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name, schema in config_schemas().items():
            path = directory / name
            path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", "utf-8")
            print(f"wrote {path}")
    except OSError as exc:
        print(f"error: cannot write the schema to {directory}: {exc.strerror}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def _dispatch(args: argparse.Namespace, settings: Settings, config: Config) -> int:
    if args.command == "check":
        print(
            f"config OK: {len(config.feeds)} feeds, {len(config.topics)} topics, "
            f"{len(config.chats)} chats in {settings.config_dir}"
        )
        return EXIT_OK
    if args.command == "status":
        return _status(settings, config)
    if args.command == "health":
        return _health(settings)
    if args.command == "explain":
        return _explain(settings, config, args.source, args.topic, full=args.full)
    if args.command == "backtest":
        cli_tools.backtest(settings, config, args.since, args.topics)
        return EXIT_OK
    if args.command == "labels":
        cli_tools.export_labels(settings, args.out)
        return EXIT_OK
    if args.command == "once":
        return asyncio.run(_once(settings, config, args.deliver_for))
    return asyncio.run(_run(settings, config))


def _explain(
    settings: Settings, config: Config, source: str, names: list[str] | None, *, full: bool
) -> int:
    known = {topic.name for topic in config.topics}
    unknown = [name for name in names or [] if name not in known]
    if unknown:
        print(
            f"error: no topic named {unknown[0]!r}; known: {', '.join(sorted(known))}",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    cli_tools.explain(settings, config, source, names, full=full)
    return EXIT_OK


def _health(settings: Settings) -> int:
    store = Store.open(settings.database_url)
    try:
        healthy, reason, _ = heartbeat_health(store, settings.health_max_age, datetime.now(UTC))
    finally:
        store.close()
    if not healthy:
        print(f"unhealthy: {reason}", file=sys.stderr)
        return EXIT_FAILURE
    print(f"healthy: {reason}")
    return EXIT_OK


def _status(settings: Settings, config: Config) -> int:
    store = Store.open(settings.database_url)
    try:
        report = status_report(
            config.feeds,
            store.feeds.states(),
            store.outbox.counts(),
            chats=store.chats.states(),
            dead=store.outbox.dead(),
            heartbeat=store.heartbeats.last(),
            leaders=store.leases.holders(datetime.now(UTC)),
            schema=store.schema(),
            ambiguous=store.outbox.ambiguous(),
            graded=graded_lines(store, datetime.now(UTC)),
        )
    finally:
        store.close()
    print("\n".join(report))
    return EXIT_OK


async def _once(settings: Settings, config: Config, deliver_for: float | None = None) -> int:
    from monitor.app import App

    async with App(settings, config) as app:
        results = await app.run_once(deliver_for)
        counts = app.store.outbox.counts()
        waiting = app.store.outbox.by_chat()
    failed = [result for result in results if not result.ok]
    print(
        f"polled {len(results)} feeds ({len(failed)} failed): "
        f"{sum(r.new for r in results)} new items, {sum(r.skipped_old for r in results)} older "
        f"items skipped, {sum(r.alerts for r in results)} alerts queued; "
        f"{counts.get('pending', 0)} alerts still pending",
        file=sys.stderr,
    )
    for result in failed:
        print(f"  {result.feed}: {result.error}", file=sys.stderr)
    for chat in waiting:
        print(f"  chat {chat.chat}: {pending_text(chat)}", file=sys.stderr)
    return EXIT_OK


async def _demo(settings: Settings, config: Config) -> int:
    from monitor.demo import run_demo

    print("news-monitor demo: sample feeds from a local server, your topics, alerts below.\n")
    outcome = await run_demo(settings, config)
    alerts = sum(result.alerts for result in outcome.results)
    print(
        f"demo: {outcome.reports} sample reports from {len(outcome.results)} outlets, "
        f"{alerts} alerts for {len(config.topics)} topics (one story reported twice is one "
        "message with its second source added). Next: `monitor run` polls the real feeds "
        "(`make run` in a checkout; the container's default command)."
    )
    return EXIT_OK


async def _run(settings: Settings, config: Config) -> int:
    from monitor.app import App

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    async with App(settings, config) as app:
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGHUP, app.request_reload, "SIGHUP")
            loop.add_signal_handler(signal.SIGUSR1, app.request_poll_now, "SIGUSR1")
        await app.serve(stop)
    logger.info("stopped")
    return EXIT_OK
