"""Follow one dependency's availability and say so calmly: a line when it goes, one when it is back.

A database that refuses writes or a Bot API that stops answering is an expected event, not a
bug: every job that meets it would otherwise log its own traceback, and the log would grow
with the number of feeds. An `Outage` turns a stream of failures into three kinds of line:

- when the dependency first fails: what failed and what waits;
- while it stays away, at most one summary a minute: for how long, and what was deferred;
- when it works again: after how long, and what was deferred meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable

logger = logging.getLogger(__name__)

SUMMARY_EVERY_SECONDS = 60.0


class Outage:
    """The availability of one dependency (`name`), fed by the jobs that use it.

    Thread-safe: the probe server reads `down` and `reason` from its own thread.
    """

    def __init__(
        self,
        name: str,
        waits: str,
        clock: Callable[[], float] = time.monotonic,
        summary_every: float = SUMMARY_EVERY_SECONDS,
    ) -> None:
        """`waits` says in a few words what waits while `name` is away (for the first line)."""
        self.name = name
        self.waits = waits
        self._clock = clock
        self._summary_every = summary_every
        self._lock = threading.Lock()
        self._since: float | None = None
        self._summarised_at = 0.0
        self._reason = ""
        self._deferred: Counter[str] = Counter()

    @property
    def down(self) -> bool:
        """True from the first failure until the next success."""
        with self._lock:
            return self._since is not None

    @property
    def reason(self) -> str:
        """The latest failure's reason while down, else an empty string."""
        with self._lock:
            return self._reason if self._since is not None else ""

    def seconds_down(self) -> float:
        """How long the dependency has been away (0 while it is available)."""
        with self._lock:
            return 0.0 if self._since is None else self._clock() - self._since

    def failed(self, reason: str, deferred: str | None = None) -> None:
        """Note a failure; `deferred` names the piece of work that will run later ("poll")."""
        now = self._clock()
        with self._lock:
            if deferred:
                self._deferred[deferred] += 1
            self._reason = reason
            if self._since is None:
                self._since = self._summarised_at = now
                logger.warning(
                    "%s unavailable: %s; %s until it is back", self.name, reason, self.waits
                )
                return
            if now - self._summarised_at < self._summary_every:
                return
            self._summarised_at = now
            logger.warning(
                "%s still unavailable after %s (%s); deferred so far: %s",
                self.name,
                _duration(now - self._since),
                reason,
                _counts(self._deferred),
            )

    def ok(self) -> None:
        """Note a success; ends an outage with one line saying how long and what waited."""
        with self._lock:
            if self._since is None:
                return
            lasted = self._clock() - self._since
            deferred = _counts(self._deferred)
            self._since = None
            self._deferred.clear()
        logger.warning(
            "%s available again after %s; deferred meanwhile: %s",
            self.name,
            _duration(lasted),
            deferred,
        )


def _duration(seconds: float) -> str:
    whole = max(round(seconds), 0)
    return f"{whole // 60}m {whole % 60:02d}s" if whole >= 60 else f"{whole}s"


def _counts(deferred: Counter[str]) -> str:
    if not deferred:
        return "nothing"
    return ", ".join(
        f"{count} {what}{'s' if count != 1 else ''}" for what, count in sorted(deferred.items())
    )


class Outages:
    """The availability of many dependencies of one kind (feed hosts), one `Outage` each."""

    def __init__(self, kind: str, waits: str) -> None:
        self.kind = kind
        self.waits = waits
        self._by_key: dict[str, Outage] = {}

    def get(self, key: str) -> Outage:
        """The outage record of `key` ("example.org:443"), made on first use."""
        outage = self._by_key.get(key)
        if outage is None:
            outage = self._by_key[key] = Outage(f"{self.kind} {key}", self.waits)
        return outage

    def ok(self, key: str) -> None:
        """Note a success at `key`; ends its outage, if it had one."""
        outage = self._by_key.get(key)
        if outage is not None:
            outage.ok()
