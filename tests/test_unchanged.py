"""Polls answered 304 are recorded in batches: by size, after a short delay, at a flush; a batch
the database refuses is reported, not raised, and its feeds stay due."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.errors import StoreUnavailable
from monitor.store import Store, Unchanged
from monitor.unchanged import BATCH, DELAY, UnchangedPolls

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def store_with_feeds(path: Path, count: int) -> Store:
    store = Store.open(f"sqlite:///{path}")
    for i in range(count):  # each polled once, claimed by a replica that polls it again now
        store.feeds.polled(f"feed {i}", f"https://example.org/{i}.xml", ("e", None), NOW)
        store.feeds.claim(
            f"feed {i}", f"https://example.org/{i}.xml", "me", NOW, NOW + timedelta(minutes=3)
        )
    return store


def unchanged(i: int, minutes: int = 15) -> Unchanged:
    later = NOW + timedelta(seconds=30)
    return Unchanged(
        f"feed {i}", f"https://example.org/{i}.xml", later, later + timedelta(minutes=minutes)
    )


def test_a_batch_is_written_when_full_when_its_delay_is_up_and_at_a_flush(tmp_path: Path) -> None:
    store = store_with_feeds(tmp_path / "monitor.sqlite", BATCH + 3)
    refused: list[StoreUnavailable] = []

    async def scenario() -> None:
        polls = UnchangedPolls(store.feeds, refused.append)
        for i in range(BATCH + 1):
            polls.add(unchanged(i))
        assert len(polls) == 1  # the first BATCH went out together when the batch was full
        assert store.feeds.state("feed 0").last_success_at == NOW + timedelta(seconds=30)  # type: ignore[union-attr]
        await asyncio.sleep(DELAY * 3)
        assert len(polls) == 0  # the one left went out after the delay
        polls.add(unchanged(BATCH + 1))
        polls.flush()
        assert len(polls) == 0

    asyncio.run(scenario())
    assert refused == []
    for i in range(BATCH + 2):
        state = store.feeds.state(f"feed {i}")
        assert state is not None
        assert state.next_poll_at == NOW + timedelta(seconds=30, minutes=15)
        assert state.lease_owner is None and state.lease_until is None  # the claim is released
        assert state.etag == "e"  # the validators stay
    assert store.feeds.state(f"feed {BATCH + 2}").lease_owner == "me"  # type: ignore[union-attr]
    store.close()


def test_a_refused_batch_is_reported_and_its_feeds_stay_as_they_were(tmp_path: Path) -> None:
    path = tmp_path / "monitor.sqlite"
    store_with_feeds(path, 2).close()
    # the same database, opened read-only: every write is refused, as on a full disk
    readonly = Store.open(f"sqlite:///file:{path}?mode=ro&uri=true")
    refused: list[StoreUnavailable] = []

    async def scenario() -> None:
        polls = UnchangedPolls(readonly.feeds, refused.append)
        polls.add(unchanged(0))
        polls.add(unchanged(1))
        polls.flush()  # does not raise

    asyncio.run(scenario())
    assert len(refused) == 1 and "readonly" in refused[0].reason
    state = readonly.feeds.state("feed 0")
    assert state is not None and state.last_success_at == NOW and state.lease_owner == "me"
    readonly.close()


def test_nothing_to_record_is_no_transaction(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///file:{tmp_path / 'absent.sqlite'}?mode=rwc&uri=true")
    store.close()
    readonly = Store.open(f"sqlite:///file:{tmp_path / 'absent.sqlite'}?mode=ro&uri=true")
    readonly.feeds.unchanged([])  # would raise if it wrote
    readonly.close()
