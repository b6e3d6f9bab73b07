"""The store on a real SQLite file: migrations, identity keys, the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from monitor.dedup import canonical_url, entry_keys
from monitor.models import Alert, Article, Entry
from monitor.store import NewEntry, Store
from monitor.store.migrations import MIGRATIONS

NOW = datetime(2024, 12, 16, 12, 0, tzinfo=UTC)


def entry(link: str, guid: str | None = None, feed: str = "SPIEGEL") -> Entry:
    return Entry(feed, guid, link, "Titel", "Zusammenfassung", NOW)


def alert(chat: str = "default") -> Alert:
    return Alert(chat, "-100", "Titel", "https://e.org/a", "SPIEGEL", NOW, ("T",), "s", (), True)


def test_migrations_apply_once(database_url: str) -> None:
    url = database_url
    Store.open(url).close()
    store = Store.open(url)
    with store.engine.connect() as conn:
        versions = list(conn.scalars(sa.text("SELECT version FROM schema_migrations")))
    store.close()
    assert versions == list(range(1, len(MIGRATIONS) + 1))


def test_seen_by_any_key_and_duplicates_within_a_batch(database_url: str) -> None:
    store = Store.open(database_url)
    first = entry("https://www.spiegel.de/a-1#ref=rss", guid="https://www.spiegel.de/a-1")
    store.entries.record("SPIEGEL", [NewEntry(first, entry_keys(first), None, ())], NOW)

    same_url_new_guid = entry("http://spiegel.de/a-1?utm_source=x", guid="8f1c-uuid")
    brand_new = entry("https://www.spiegel.de/a-2")
    repeated = entry("https://www.spiegel.de/a-2")
    candidates = [(e, entry_keys(e)) for e in (same_url_new_guid, brand_new, repeated)]
    assert store.entries.unseen(candidates) == [1]
    store.close()


def test_entries_without_alerts_are_written_in_bulk_in_order(database_url: str) -> None:
    store = Store.open(database_url)
    known = entry("https://e.org/known")
    store.entries.record("F", [NewEntry(known, entry_keys(known), None, ())], NOW)
    backlog = [entry(f"https://e.org/old-{n}") for n in range(3)]
    alerted = entry("https://e.org/new")
    quiet = entry("https://e.org/quiet")
    items = [
        *(NewEntry(e, entry_keys(e), None, ()) for e in backlog),
        NewEntry(known, entry_keys(known), None, ()),  # seen before: skipped
        NewEntry(backlog[1], entry_keys(backlog[1]), None, ()),  # twice in one batch
        NewEntry(alerted, entry_keys(alerted), Article(alerted, "Text", True), (alert(),)),
        NewEntry(quiet, entry_keys(quiet), Article(quiet, "Ohne Treffer", False), ()),
    ]
    inserted: set[int] = set()
    assert store.entries.record("F", items, NOW, inserted) == 1
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, link, text FROM entries ORDER BY id")).all()
        keys = conn.scalar(sa.text("SELECT count(*) FROM entry_keys"))
        # Written in bulk or one by one, times are stored alike (keys are expired by them).
        stored_times = set(conn.scalars(sa.text("SELECT seen_at FROM entry_keys")))
        stored_times |= set(conn.scalars(sa.text("SELECT seen_at FROM entries")))
    store.close()
    assert len(stored_times) == 1
    links = [row.link for row in rows]
    assert links == [known.link, *(e.link for e in backlog), alerted.link, quiet.link]
    assert [row.text for row in rows[1:]] == [None, None, None, "Text", "Ohne Treffer"]
    assert keys == 6
    # Only entries with an article are reported: the story index never counts the others.
    assert inserted == {rows[4].id, rows[5].id}


def test_entry_keys_and_alerts_are_written_together(database_url: str) -> None:
    store = Store.open(database_url)
    item = entry("https://e.org/a")
    article = Article(item, "Text", True)
    queued = store.entries.record(
        "F", [NewEntry(item, entry_keys(item), article, (alert(), alert("ops")))], NOW
    )
    assert queued == 2
    again = store.entries.record("F", [NewEntry(item, entry_keys(item), article, (alert(),))], NOW)
    assert again == 0
    pending = store.outbox.pending(NOW)
    assert [p.alert.chat for p in pending] == ["default", "ops"]
    assert pending[0].alert == alert()

    store.outbox.mark_sent(pending[0].id, "42", NOW)
    store.outbox.mark_attempt_failed(
        pending[1].id, "network", NOW + timedelta(seconds=5), ambiguous=True
    )
    assert store.outbox.ambiguous() == 1  # Telegram never answered: a retry may repeat it
    assert store.outbox.pending(NOW) == []  # waits for its retry time
    assert [p.id for p in store.outbox.pending(NOW + timedelta(seconds=5))] == [pending[1].id]
    store.outbox.mark_attempt_failed(pending[1].id, "chat not found", None)
    assert store.outbox.counts() == {"sent": 1, "dead": 1}
    assert store.outbox.dead()[0][1:] == ("ops", item.title, "chat not found")
    store.close()


def test_feed_state_tracks_success_and_errors(database_url: str) -> None:
    store = Store.open(database_url)
    assert store.feeds.state("F") is None
    store.feeds.failed("F", "https://e.org/f", "HTTP 500", NOW)
    store.feeds.failed("F", "https://e.org/f", "HTTP 502", NOW)
    state = store.feeds.state("F")
    assert state is not None and state.consecutive_errors == 2 and state.last_error == "HTTP 502"
    assert state.last_success_at is None
    store.feeds.polled("F", "https://e.org/f", ('"e"', None), NOW)
    state = store.feeds.state("F")
    assert state is not None and state.consecutive_errors == 0 and state.etag == '"e"'
    assert state.last_success_at == NOW and state.first_polled_at == NOW
    store.close()


def test_canonical_url() -> None:
    assert canonical_url(
        "HTTP://WWW.Spiegel.de:80/politik/a-1.html?utm_source=rss&b=2&a=1#ref=rss"
    ) == ("https://spiegel.de/politik/a-1.html?a=1&b=2")
    assert canonical_url("https://orf.at/stories/3371234/") == "https://orf.at/stories/3371234/"
    assert canonical_url("https://e.org/a?id=5&wt_mc=rss.x&fbclid=1") == "https://e.org/a?id=5"


def test_items_without_guid_or_link_are_keyed_by_title() -> None:
    bare = Entry("F", None, None, "  Nur Titel ", "", None)
    assert entry_keys(bare) == ("title:F:nur titel",)


def test_claims_let_one_replica_poll_and_status_names_it(database_url: str) -> None:
    from monitor.config import FeedConfig
    from monitor.status import status_report

    store = Store.open(database_url)
    until = NOW + timedelta(minutes=2)
    assert store.feeds.claim("ZEIT", "https://z.example/feed", "replica-a", NOW, until)
    assert not store.feeds.claim("ZEIT", "https://z.example/feed", "replica-b", NOW, until)
    store.feeds.failed("ZEIT", "https://z.example/feed", "HTTP 500", NOW)  # releases the claim
    assert store.feeds.claim("ZEIT", "https://z.example/feed", "replica-b", NOW, until)
    report = status_report(
        [FeedConfig(name="ZEIT", url="https://z.example/feed")],
        store.feeds.states(),
        {},
        NOW,
        leaders={"delivery": "replica-a"},
    )
    assert any(line.strip() == "being polled by replica-b" for line in report)
    assert "delivery leader: replica-a" in report
    # a claim that expired (its replica died) can be taken over
    assert store.feeds.claim(
        "ZEIT", "https://z.example/feed", "replica-c", until, until + until.resolution
    )
    assert store.leases.acquire("delivery", "replica-a", NOW, until)
    assert not store.leases.acquire("delivery", "replica-b", NOW, until)
    assert store.leases.acquire("delivery", "replica-b", until, until + timedelta(seconds=30))
    store.close()
