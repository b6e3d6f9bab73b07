"""Reload config/ without a restart: when its files change, on SIGHUP or on /reload. A bad
edit keeps the last good config and says so (log, metric, operator chats)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from monitor.config import Config, Settings, config_signature, load_config, telegram_problems
from monitor.deliver import Sink
from monitor.errors import ConfigError, DeliveryError
from monitor.metrics import Metrics

logger = logging.getLogger(__name__)

# How often config/ is checked for edits (a stat of three files).
CONFIG_CHECK_SECONDS = 2.0


class Reloader:
    """Reads config/ again and hands a valid one to `apply`, which switches to it and returns
    what changed in the feeds; `current` gives the config in force."""

    def __init__(
        self,
        settings: Settings,
        current: Callable[[], Config],
        apply: Callable[[Config], list[str]],
        sink: Sink,
        metrics: Metrics,
    ) -> None:
        self.settings = settings
        self._current = current
        self._apply = apply
        self.sink = sink
        self.metrics = metrics
        self._seen: tuple[tuple[str, int, int] | None, ...] = ()

    def remember_files(self) -> None:
        """Take the files as they are now as seen: `watch` reloads after the next edit."""
        self._seen = config_signature(self.settings.config_dir)

    async def watch(self) -> None:
        """Reload when a file in config/ changed since the last look."""
        seen = config_signature(self.settings.config_dir)
        if seen != self._seen:
            self._seen = seen
            await self.reload("files changed")

    async def reload(self, reason: str, notify: bool = True) -> tuple[bool, str]:
        """Read config/ again and apply it without a restart; keep the last good one if invalid.

        Feeds are added, dropped and rescheduled, topics recompiled, chats updated. Settings
        from the environment are not reloaded.
        """
        try:
            config = load_config(self.settings.config_dir)
            if self.settings.telegram_token and (problems := telegram_problems(config)):
                raise ConfigError(problems)
        except ConfigError as exc:
            self.metrics.reloaded(ok=False)
            logger.error(
                "config reload (%s) refused, keeping the last good config: %s",
                reason,
                "; ".join(exc.problems),
            )
            listed = "\n".join(exc.problems[:20])
            if notify:
                await self._notify_operators(
                    "Configuration change refused; the last good configuration stays in force:\n"
                    + listed
                )
            return False, listed
        old = self._current()
        summary = self._apply(config) + topic_changes(old, config)
        summary.append(f"{len(config.feeds)} feeds, {len(config.topics)} topics")
        changes = "; ".join(summary)
        self.metrics.reloaded(ok=True)
        logger.info("config reloaded (%s): %s", reason, changes)
        if notify:
            await self._notify_operators(f"Configuration reloaded: {changes}.")
        return True, changes

    async def _notify_operators(self, text: str) -> None:
        """Tell the chats marked `operator: true`; a failure is logged, never raised."""
        config = self._current()
        for name in config.operators:
            chat_id = config.chats.get(name)
            if chat_id is None:
                continue
            try:
                await self.sink.notice(text, chat_id)
            except DeliveryError as exc:
                logger.warning("could not tell operator chat %s: %s", name, exc)


def topic_changes(old: Config, new: Config) -> list[str]:
    """Name the topics `new` adds to `old` and those it drops."""
    before = {topic.name for topic in old.topics}
    after = {topic.name for topic in new.topics}
    changes = []
    if after - before:
        changes.append(f"topics added: {', '.join(sorted(after - before))}")
    if before - after:
        changes.append(f"topics removed: {', '.join(sorted(before - after))}")
    return changes
