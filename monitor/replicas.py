"""Replica coordination: several services may share one database. Each feed poll is claimed
by one replica; one replica at a time holds a leader lease to deliver, one to answer the bot;
a restart takes over the claims and leases of its own dead predecessor."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from monitor.config import FeedConfig, Settings
from monitor.store import FeedState, Store

logger = logging.getLogger(__name__)

# The delivery and bot leaders renew their lease every delivery tick; another replica takes
# over this long after a leader stops renewing.
LEADER_LEASE_SECONDS = 30.0
# The replica id of the last run on this state directory (to take over its leases if it died).
PREDECESSOR_FILE = "replica-id"


class Replica:
    """This service among the replicas sharing its database: its feed claims and leases."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.me = settings.replica_id
        # MONITOR_FEED_LEASE, and never shorter than three fetch deadlines
        self._claim = timedelta(seconds=max(settings.feed_lease, 3 * settings.fetch_deadline))
        self._leases: dict[str, datetime] = {}  # leases this replica holds, until when

    def take_over_from_dead_predecessor(self, state_dir: Path) -> None:
        """Release the claims and leases of the earlier run of this service that died.

        A restart gets a new default replica id (hostname-pid): without this it would wait for
        its own dead predecessor's delivery lease and feed claims to expire. Only the run
        recorded in this state directory counts, and only when its process is gone on this
        host: another replica, even one on a host of the same name, is never touched.
        """
        marker = state_dir / PREDECESSOR_FILE
        try:
            previous = marker.read_text(encoding="utf-8").strip()
        except OSError:
            previous = ""
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(self.me + "\n", encoding="utf-8")
        except OSError as exc:
            logger.warning("cannot record this run in %s: %s", marker, exc.strerror)
        owners = self.store.leases.owners() & {previous}
        for owner in sorted(dead_local_owners(owners, self.me)):
            self.store.leases.release_all(owner)
            logger.info(
                "released the leases of %s, an earlier run on this host that is gone", owner
            )

    def claim(self, feed: FeedConfig, now: datetime, force: bool = False) -> FeedState | None:
        """Claim the poll of `feed` when it is due (or, with `force`, at once); return its state
        then, None when it is not due or another replica holds it (the claim is also the due
        check)."""
        return self.store.feeds.claim(feed.name, feed.url, self.me, now, now + self._claim, force)

    def claimed_elsewhere_until(self, feed: FeedConfig) -> datetime | None:
        """When another replica's claim on `feed` ends, if one holds it (or died holding it)."""
        state = self.store.feeds.state(feed.name)
        if state is not None and state.lease_until is not None and state.lease_owner != self.me:
            return state.lease_until
        return None

    def lead(self, name: str, now: datetime) -> bool:
        """Take or renew the lease `name`: one replica delivers, one answers the bot.

        A lease with more than half its time left is not renewed again: every poll asks before
        delivering, and a database write per poll would buy nothing (a round stops starting
        sends after half a lease).
        """
        held_until = self._leases.get(name)
        if held_until is not None and held_until - now > timedelta(
            seconds=LEADER_LEASE_SECONDS / 2
        ):
            return True
        until = now + timedelta(seconds=LEADER_LEASE_SECONDS)
        if self.store.leases.acquire(name, self.me, now, until):
            self._leases[name] = until
            return True
        self._leases.pop(name, None)
        return False

    def holds(self, name: str, now: datetime) -> bool:
        """Whether this replica still holds the lease `name` (without renewing it)."""
        held_until = self._leases.get(name)
        return held_until is not None and held_until > now

    def release(self) -> None:
        """Give up every claim and lease, so another replica can take over at once."""
        self.store.leases.release_all(self.me)
        self._leases.clear()


def dead_local_owners(owners: Iterable[str], me: str) -> set[str]:
    """Return the owners that are default replica ids (hostname-pid) of dead processes here."""
    host = socket.gethostname()
    dead = set()
    for owner in owners:
        name, _, pid = owner.rpartition("-")
        if owner == me or name != host or not pid.isdigit():
            continue
        if not _running(int(pid)):
            dead.add(owner)
    return dead


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError, ValueError):  # gone, or no pid of this system
        return False
    except PermissionError:
        return True  # someone else's process
    return True
