"""The `monitor` command: turn argv into an action and an exit code; the only module that prints."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Sequence

from monitor import __version__, logs
from monitor.app import App
from monitor.config import Config, Settings, load_config, telegram_problems
from monitor.errors import ConfigError, MonitorError

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
    commands.add_parser("once", help="poll every enabled feed once, deliver, and exit")
    commands.add_parser("check", help="validate the configuration and exit (2 on problems)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
        logs.setup(settings.log_level, settings.log_format, [settings.telegram_token])
        config = load_config(settings.config_dir)
        if settings.telegram_token:
            problems = telegram_problems(config)
            if problems:
                raise ConfigError(problems)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "check":
        print(
            f"config OK: {len(config.feeds)} feeds, {len(config.topics)} topics, "
            f"{len(config.chats)} chats in {settings.config_dir}"
        )
        return EXIT_OK
    runner = _once if args.command == "once" else _run
    redact = logs.RedactSecrets([settings.telegram_token])
    try:
        return asyncio.run(runner(settings, config))
    except MonitorError as exc:
        print(f"error: {redact.redact(str(exc))}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_OK


async def _once(settings: Settings, config: Config) -> int:
    async with App(settings, config) as app:
        results = await app.run_once()
        counts = app.store.alert_counts()
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
    return EXIT_OK


async def _run(settings: Settings, config: Config) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    async with App(settings, config) as app:
        await app.serve(stop)
    logger.info("stopped")
    return EXIT_OK
