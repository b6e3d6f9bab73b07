"""One run with a malformed feed, a 500, a timeout and an oversized body: the rest still alert."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ahocorasick_rs
import datasketch
import pytest
import sqlalchemy as sa

from monitor.cli import main
from monitor.store import Store
from tests.conftest import (
    SHELLS_PARAGRAPHS,
    TROOPS_PARAGRAPHS,
    WriteConfig,
    article_page,
    rss,
)
from tests.servers import ContentServer


def test_broken_feeds_do_not_stop_the_others(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MONITOR_HTTP_TIMEOUT", "0.5")
    monkeypatch.setenv("MONITOR_MAX_FEED_BYTES", "50000")
    troops = content.add(
        "/troops", article_page("Nordkoreas Soldaten in Kursk", TROOPS_PARAGRAPHS), "text/html"
    )
    shells = content.add(
        "/shells", article_page("Granaten aus Nordkorea", SHELLS_PARAGRAPHS), "text/html"
    )
    good_1 = content.add(
        "/good1.xml", rss([{"title": "Nordkoreas Soldaten in Kursk", "link": troops}])
    )
    good_2 = content.add("/good2.xml", rss([{"title": "Granaten aus Nordkorea", "link": shells}]))
    malformed = content.add(
        "/malformed.xml", "<html><body><h1>Wartungsarbeiten</h1></body></html>", "text/html"
    )
    error = content.add("/error.xml", "oops", status=500)
    slow = content.add("/slow.xml", rss([]), delay=2.0)
    huge = content.add("/huge.xml", rss([{"title": "x" * 60000, "link": troops}]))
    write_config(
        [
            {"name": "Good One", "url": good_1},
            {"name": "Malformed", "url": malformed},
            {"name": "Server Error", "url": error},
            {"name": "Too Slow", "url": slow},
            {"name": "Too Big", "url": huge},
            {"name": "Good Two", "url": good_2},
        ]
    )

    assert main(["once"]) == 0

    captured = capsys.readouterr()
    assert "Nordkoreas Soldaten in Kursk" in captured.out
    assert "Granaten aus Nordkorea" in captured.out
    log = captured.err
    assert "feed Malformed failed: got an HTML page, not a feed" in log
    assert "feed Server Error failed: HTTP 500" in log
    assert "feed Too Slow failed: timed out" in log
    assert "feed Too Big failed: body of" in log and "exceeds the 50000-byte cap" in log
    assert "polled 6 feeds (4 failed)" in log

    engine = sa.create_engine(f"sqlite:///{Path(env['MONITOR_STATE_DIR']) / 'monitor.sqlite'}")
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT name, consecutive_errors FROM feeds")).all())
    engine.dispose()
    assert rows == {
        "Good One": 0,
        "Good Two": 0,
        "Malformed": 1,
        "Server Error": 1,
        "Too Slow": 1,
        "Too Big": 1,
    }


def test_feed_recovers_after_failure(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    troops = content.add(
        "/troops", article_page("Nordkoreas Soldaten in Kursk", TROOPS_PARAGRAPHS), "text/html"
    )
    feed = content.add("/feed.xml", "unavailable", status=503)
    write_config([{"name": "Flaky", "url": feed}])
    assert main(["once"]) == 0
    assert "feed Flaky failed: HTTP 503" in capsys.readouterr().err

    content.add("/feed.xml", rss([{"title": "Nordkoreas Soldaten in Kursk", "link": troops}]))
    assert main(["once"]) == 0
    assert "Nordkoreas Soldaten in Kursk" in capsys.readouterr().out


def test_unchanged_feed_is_not_parsed_again(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
) -> None:
    feed = content.add("/feed.xml", rss([]), etag='"v1"')
    write_config([{"name": "Cached", "url": feed}])
    assert main(["once"]) == 0
    assert main(["once"]) == 0
    sent = [
        headers.get("If-None-Match") for path, headers in content.requests if path == "/feed.xml"
    ]
    assert sent == [None, '"v1"']


POISON = "Giftpille"


def mixed_feed(content: ContentServer, write_config: WriteConfig) -> str:
    """Configure one feed (ETag "v1") of two alerting items, the second naming POISON; return
    the poisoned item's link."""
    good = content.add(
        "/good", article_page("Nordkoreas Soldaten in Kursk", TROOPS_PARAGRAPHS), "text/html"
    )
    bad = content.add(
        "/bad", article_page(f"Granaten aus Nordkorea ({POISON})", SHELLS_PARAGRAPHS), "text/html"
    )
    items = [
        {"title": "Nordkoreas Soldaten in Kursk", "link": good},
        {"title": f"Granaten aus Nordkorea ({POISON})", "link": bad},
    ]
    write_config([{"name": "Mixed", "url": content.add("/feed.xml", rss(items), etag='"v1"')}])
    return bad


class PoisonedAutomaton:
    """ahocorasick_rs's automaton with a bug that strikes one article (its text names POISON)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._real = ahocorasick_rs.BytesAhoCorasick(*args, **kwargs)

    def find_matches_as_indexes(
        self, haystack: bytes, overlapping: bool = False
    ) -> list[tuple[int, int, int]]:
        if POISON.lower().encode() in haystack.lower():
            raise RuntimeError("fault injected into the automaton")
        return self._real.find_matches_as_indexes(haystack, overlapping=overlapping)


def test_an_article_the_matcher_fails_on_does_not_fail_its_feed(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = mixed_feed(content, write_config)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("monitor.occurrences.BytesAhoCorasick", PoisonedAutomaton)
        assert main(["once"]) == 0
    captured = capsys.readouterr()
    assert "Nordkoreas Soldaten in Kursk" in captured.out
    assert POISON not in captured.out
    assert f"feed Mixed: item '{bad}' could not be matched (internal error)" in captured.err
    assert "polled 1 feeds (0 failed)" in captured.err
    state = Store.open(f"sqlite:///{Path(env['MONITOR_STATE_DIR']) / 'monitor.sqlite'}")
    try:
        feed_state = state.feeds.state("Mixed")
        assert feed_state is not None and feed_state.consecutive_errors == 0
    finally:
        state.close()

    # The fault is gone (a fixed release): the item left unseen is read again and alerts, even
    # though the server would have answered a conditional request with 304; nothing repeats.
    assert main(["once"]) == 0
    captured = capsys.readouterr()
    assert f"Granaten aus Nordkorea ({POISON})" in captured.out
    assert "Nordkoreas Soldaten in Kursk" not in captured.out
    assert main(["once"]) == 0
    assert capsys.readouterr().out == ""
    sent = [
        headers.get("If-None-Match") for path, headers in content.requests if path == "/feed.xml"
    ]
    assert sent == [None, None, '"v1"']


def test_an_article_the_story_index_fails_on_still_alerts(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A bug placing one article in a story (here, in datasketch's MinHash) leaves it a story
    of its own: both items alert, the feed does not fail, and nothing is sent twice."""
    real_update = datasketch.MinHash.update_batch

    def poisoned(self: datasketch.MinHash, shingles: list[bytes]) -> None:
        if any(POISON.lower().encode() in shingle for shingle in shingles):
            raise RuntimeError("fault injected into MinHash")
        real_update(self, shingles)

    mixed_feed(content, write_config)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(datasketch.MinHash, "update_batch", poisoned)
        assert main(["once"]) == 0
    captured = capsys.readouterr()
    assert "Nordkoreas Soldaten in Kursk" in captured.out
    assert f"Granaten aus Nordkorea ({POISON})" in captured.out
    assert "could not be placed in a story (internal error)" in captured.err
    assert "polled 1 feeds (0 failed)" in captured.err
    assert main(["once"]) == 0
    assert capsys.readouterr().out == ""
