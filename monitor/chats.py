"""Tell which configured chat a Telegram chat is, by the number Telegram gives it.

A chat is found by the id chats.yaml gives it; by the supergroup Telegram migrated it to
(recorded in the store by delivery, or by the bot when it sees the migration), as alerts
follow it; and, for a chat configured as @name, by the id Telegram resolved that name to.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from monitor.config import Config
from monitor.errors import StoreUnavailable
from monitor.store import Store

logger = logging.getLogger(__name__)

# Seconds between two reads of the migrations delivery recorded.
MIGRATIONS_READ_SECONDS = 10.0


class ChatDirectory:
    """Find a configured chat's name from a chat's numeric id.

    `config` returns the configuration in force (it changes on reload); migrations are read
    from `store`, at most every MIGRATIONS_READ_SECONDS.
    """

    def __init__(self, config: Callable[[], Config], store: Store) -> None:
        self.config = config
        self.store = store
        self._resolved: dict[str, int | None] = {}  # @name (folded) -> its id; None: failed
        self._moved: dict[int, str] = {}  # supergroup id -> name of the group it was
        self._moved_read = -math.inf

    def name_of(self, chat_id: int) -> str | None:
        """Return the name of the configured chat `chat_id` is, or None for a stranger."""
        config = self.config()
        name = config.chat_names.get(chat_id)
        if name is not None:
            return name
        for name, configured in config.chats.items():
            if configured.startswith("@") and self._resolved.get(configured.casefold()) == chat_id:
                return name
        return self._migrated(config).get(chat_id)

    def unresolved(self) -> dict[str, str]:
        """Return the chats configured as @name not yet looked up: name -> @name."""
        return {
            name: configured
            for name, configured in self.config().chats.items()
            if configured.startswith("@") and configured.casefold() not in self._resolved
        }

    def resolved(self, username: str, chat_id: int | None) -> None:
        """Remember what @name `username` is (None: Telegram could not say; not asked again
        until `retry`)."""
        self._resolved[username.casefold()] = chat_id

    def retry(self) -> None:
        """Forget the names Telegram could not resolve, so they are asked for again."""
        self._resolved = {name: found for name, found in self._resolved.items() if found}

    def moved(self, old: int, new: int) -> str | None:
        """Record that Telegram migrated group `old` to supergroup `new`; return the chat's
        name, or None when `old` is no configured chat. Alerts follow it as well."""
        config = self.config()
        name = config.chat_names.get(old)
        if name is None:
            return None
        self._moved[new] = name
        try:
            self.store.chats.moved(name, config.chats[name], str(new))
        except StoreUnavailable as exc:  # commands follow it now; delivery learns it on its own
            logger.warning("migration of chat %s not recorded: %s", name, exc)
        return name

    def _migrated(self, config: Config) -> dict[int, str]:
        """Return the supergroups configured groups became (delivery's record, re-read now
        and then), by id."""
        now = time.monotonic()
        if now - self._moved_read < MIGRATIONS_READ_SECONDS:
            return self._moved
        try:
            states = self.store.chats.states()
        except StoreUnavailable:
            return self._moved  # the last known; read again on the next look
        self._moved_read = now
        self._moved = {
            int(state.moved_to): state.name
            for state in states
            if state.moved_to is not None
            and state.moved_to.lstrip("-").isdigit()
            # a state about an id the chat no longer has is stale (delivery forgets it too)
            and config.chats.get(state.name) == state.chat_id
        }
        return self._moved
