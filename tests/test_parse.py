"""Feed parsing: real outlet samples, hostile documents, German dates."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from monitor.errors import ParseError
from monitor.parse import html_to_text, parse_feed, parse_german_date
from tests.conftest import needs_shared


@pytest.mark.parametrize(
    ("sample", "count"),
    [
        ("spiegel-1.xml", 30),
        ("orf-1.xml", 50),
        ("tagesschau-1.xml", 40),
        ("golem-1.xml", 1),
        ("heise-1.xml", 15),
    ],
)
def test_real_samples_give_title_link_and_date(sample: str, count: int) -> None:
    body = needs_shared(f"data/feeds/{sample}").read_bytes()
    entries = parse_feed("Outlet", body, {"Content-Type": "application/rss+xml"}).entries
    assert len(entries) == count
    for entry in entries:
        assert entry.title and entry.link and entry.link.startswith("http")
        assert entry.published is not None and entry.published.tzinfo is not None
        assert "<" not in entry.title and "<" not in entry.summary


def test_orf_rdf_uses_dc_date_and_about_as_id() -> None:
    body = needs_shared("data/feeds/orf-1.xml").read_bytes()
    first = parse_feed("ORF", body, {}).entries[0]
    assert first.guid == first.link
    assert first.published == datetime(2017, 1, 23, 20, 54, 55, tzinfo=UTC)


def test_golem_latin1_umlauts_survive() -> None:
    body = needs_shared("data/feeds/golem-1.xml").read_bytes()
    [entry] = parse_feed("Golem", body, {}).entries
    assert "\ufffd" not in entry.title + entry.summary
    assert "cpx.golem.de" not in entry.summary


def test_spiegel_guid_is_url_without_tracking_fragment() -> None:
    body = needs_shared("data/feeds/spiegel-1.xml").read_bytes()
    entry = parse_feed("SPIEGEL", body, {}).entries[0]
    assert entry.link is not None and entry.link.endswith("#ref=rss")
    assert entry.guid == entry.link.removesuffix("#ref=rss")


QUADRATIC_BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY a "' + b"A" * 50_000 + b'">]>\n'
    b'<rss version="2.0"><channel><title>t</title><item><title>x</title><link>http://e.org/1</link>'
    b"<description>" + b"&a;" * 20_000 + b"</description></item></channel></rss>"
)
BILLION_LAUGHS_ONE_LINE = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b']><rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title>'
    b"<link>http://e.org/1</link></item></channel></rss>"
)


@pytest.mark.parametrize(
    "bomb", [QUADRATIC_BOMB, BILLION_LAUGHS_ONE_LINE], ids=["quadratic", "billion-laughs"]
)
def test_entity_bombs_are_defused(bomb: bytes) -> None:
    started = time.monotonic()
    entries = parse_feed("Hostile", bomb, {"Content-Type": "application/rss+xml"}).entries
    assert time.monotonic() - started < 5
    assert len(entries) == 1
    assert len(entries[0].summary) < 100_000


def test_html_page_is_reported_as_such() -> None:
    with pytest.raises(ParseError, match="got an HTML page, not a feed"):
        parse_feed(
            "F", b"<!DOCTYPE html><html><body>Consent</body></html>", {"Content-Type": "text/html"}
        )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty body, not a feed"),
        (b"   ", "empty body, not a feed"),
        (b"\x00\xff\xfe garbage", "not a feed (no RSS, Atom or RDF items found: "),
        (b"<rss><channel><item><title>", "not a feed (no RSS, Atom or RDF items found: "),
    ],
)
def test_garbage_is_a_parse_error(body: bytes, reason: str) -> None:
    with pytest.raises(ParseError) as raised:
        parse_feed("F", body, {})
    assert str(raised.value).startswith(reason)


def test_truncated_feed_keeps_the_complete_items() -> None:
    body = b'<rss version="2.0"><channel><item><title>Eins</title><link>http://e.org/1</link></item><item><title>Zw'
    entries = parse_feed("F", body, {}).entries
    assert [e.title for e in entries][:1] == ["Eins"]


def test_empty_but_valid_feed_has_no_entries() -> None:
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    assert parse_feed("F", body, {}).entries == []


def test_items_without_guid_or_link_and_german_dates() -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        "<item><title>Nur Titel</title><pubDate>Mo, 03 Mär 2025 10:00:00 MEZ</pubDate></item>"
        "</channel></rss>"
    ).encode()
    [entry] = parse_feed("F", body, {}).entries
    assert entry.guid is None and entry.link is None and entry.title == "Nur Titel"
    assert entry.published == datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mo, 03 Mär 2025 10:00:00 MEZ", datetime(2025, 3, 3, 9, 0, tzinfo=UTC)),
        ("03.03.2025 10:00", datetime(2025, 3, 3, 9, 0, tzinfo=UTC)),
        ("16. Dezember 2024, 14:30 MESZ", datetime(2024, 12, 16, 12, 30, tzinfo=UTC)),
        ("3. Juli 2024 08:15 +02:00", datetime(2024, 7, 3, 6, 15, tzinfo=UTC)),
        ("31.02.2024", None),
        ("gestern", None),
    ],
)
def test_german_dates(text: str, expected: datetime | None) -> None:
    assert parse_german_date(text) == expected


def test_html_to_text_drops_scripts_and_collapses_space() -> None:
    assert (
        html_to_text("<p>Hallo <b>Welt</b></p><script>alert(1)</script>\n\n <p>Zwei</p>")
        == "Hallo Welt Zwei"
    )
    assert html_to_text("<div><p>Hallo</p> <p>Welt</p><style>x{}</style></div>") == "Hallo Welt"


def test_feed_refresh_hints() -> None:
    orf = needs_shared("data/feeds/orf-1.xml").read_bytes()
    assert parse_feed("ORF", orf, {}).ttl == 1800  # sy:updatePeriod hourly, frequency 2
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><ttl>15</ttl></channel></rss>'
    assert parse_feed("F", body, {}).ttl == 900
    body = body.replace(b"<ttl>15</ttl>", b"<ttl>forever</ttl>")
    assert parse_feed("F", body, {}).ttl is None


def test_links_are_kept_as_the_feed_gives_them() -> None:
    # Relative links are not resolved: the pre-scan and feedparser must give the same identity
    # keys, and rendering makes only absolute http(s) links an href (the rest shows as text).
    body = rss_items("/news/1", "javascript:alert(1)", "https://other.example/3")
    entries = parse_feed("F", body, {}).entries
    assert [entry.link for entry in entries] == [
        "/news/1",
        "javascript:alert(1)",
        "https://other.example/3",
    ]


def rss_items(*links: str) -> bytes:
    items = "".join(
        f"<item><title>T{number}</title><link>{link}</link></item>"
        for number, link in enumerate(links)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f"<link>http://x/</link><description>d</description>{items}</channel></rss>"
    ).encode()
