"""The service's pulse: a heartbeat in the database every few seconds (every second while the
database refuses writes), and the /healthz answer read from it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.errors import StoreUnavailable
from monitor.metrics import Metrics
from monitor.outages import Outage
from monitor.status import heartbeat_health
from monitor.store import Store

# The heartbeat is a job of its own: a long delivery round or poll never delays it, so a stale
# heartbeat means the loop, the scheduler or the database is stuck (`monitor health`). It is
# written this often, and every second while the database refuses writes.
HEARTBEAT_SECONDS = 5.0


class Heartbeat:
    """Writes the heartbeat and follows whether the database takes writes (`database`)."""

    def __init__(self, store: Store, metrics: Metrics, max_age: float) -> None:
        self.store = store
        self.metrics = metrics
        self.max_age = max_age
        self.database = Outage("database", "polls and deliveries wait")
        self._beaten_at: datetime | None = None

    def tick(self, now: datetime) -> None:
        """Beat when one is due: every few seconds, every call while the database is away."""
        last = self._beaten_at
        if self.database.down or last is None or now - last >= timedelta(seconds=HEARTBEAT_SECONDS):
            self.beat(now)

    def beat(self, now: datetime) -> None:
        """Write the heartbeat: a write every few seconds tells whether the database takes
        them, so health follows an outage and its end within one tick."""
        self._beaten_at = now
        try:
            self.store.heartbeats.beat(now)
        except StoreUnavailable as exc:
            self.database.failed(exc.reason)
            return
        self.database.ok()
        self.metrics.beat(now.timestamp())

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Answer /healthz: the database takes writes and the heartbeat is fresh."""
        if self.database.down:  # reads may still work: a refused write decides
            return False, {
                "reason": f"the database refuses writes: {self.database.reason}",
                "database": "unavailable",
                "unavailable_seconds": round(self.database.seconds_down()),
            }
        healthy, reason, age = heartbeat_health(self.store, self.max_age, datetime.now(UTC))
        return healthy, {"reason": reason, "heartbeat_age_seconds": age, "database": "ok"}
