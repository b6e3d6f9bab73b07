"""Replica coordination on its own: feed claims, leader leases, a dead predecessor's leases."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config import FeedConfig, Settings
from monitor.replicas import LEADER_LEASE_SECONDS, PREDECESSOR_FILE, Replica, dead_local_owners
from monitor.store import Store

FEED = FeedConfig(name="Outlet", url="https://example.org/feed.xml")
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def replica(store: Store, name: str) -> Replica:
    return Replica(store, Settings.from_env({"MONITOR_REPLICA_ID": name}))


def test_one_replica_polls_a_feed_and_the_other_knows_until_when(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'monitor.sqlite'}")
    a, b = replica(store, "a"), replica(store, "b")
    assert a.claim(FEED, NOW)
    assert not b.claim(FEED, NOW)
    assert b.claimed_elsewhere_until(FEED) == NOW + timedelta(seconds=180)  # 3 × 60 s deadline
    assert a.claimed_elsewhere_until(FEED) is None  # its own claim
    a.release()
    assert b.claimed_elsewhere_until(FEED) is None and b.claim(FEED, NOW)
    store.close()


def test_one_replica_leads_until_it_lets_go_or_its_lease_runs_out(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'monitor.sqlite'}")
    a, b = replica(store, "a"), replica(store, "b")
    assert a.lead("delivery", NOW) and a.holds("delivery", NOW)
    assert not b.lead("delivery", NOW) and not b.holds("delivery", NOW)
    assert b.lead("bot", NOW)  # a lease of its own name
    lapsed = NOW + timedelta(seconds=LEADER_LEASE_SECONDS + 1)
    assert not a.holds("delivery", lapsed)
    assert b.lead("delivery", lapsed) and not a.lead("delivery", lapsed)
    b.release()
    assert not b.holds("bot", lapsed) and a.lead("bot", lapsed)
    store.close()


def test_a_restart_takes_over_from_its_dead_predecessor_only(tmp_path: Path) -> None:
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead = f"{socket.gethostname()}-{ended.stdout.strip()}"
    alive = f"{socket.gethostname()}-{os.getpid()}"
    assert dead_local_owners({dead, alive, "elsewhere-1", "named"}, me="new") == {dead}
    store = Store.open(f"sqlite:///{tmp_path / 'monitor.sqlite'}")
    assert replica(store, dead).lead("delivery", NOW)
    assert replica(store, "other").claim(FEED, NOW)
    (tmp_path / PREDECESSOR_FILE).write_text(dead + "\n")
    successor = replica(store, "new")
    successor.take_over_from_dead_predecessor(tmp_path)
    assert successor.lead("delivery", NOW)  # at once, not after the lease
    assert store.leases.owners() == {"new", "other"}  # another replica's claim stays
    assert (tmp_path / PREDECESSOR_FILE).read_text() == "new\n"
    store.close()
