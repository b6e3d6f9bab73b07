"""The pre-scan against feedparser: every fixture feed, every real feed, generated feeds and
hostile documents. Reading only the new items must give exactly the entries parsing the whole
feed gives, item by item; what the scan cannot read it leaves to feedparser."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from html import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.demo import build_site, load_samples
from monitor.errors import ParseError
from monitor.parse import ParsedFeed, Scan, parse_feed, parse_items, scan_feed
from monitor.parse.scan import MAX_SCAN_BYTES
from tests.conftest import SHARED, rss
from tests.test_faults import good_feed
from tests.test_parse import BILLION_LAUGHS_ONE_LINE, QUADRATIC_BOMB

RSS_TYPE = {"Content-Type": "application/rss+xml"}
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <title>Atom</title><id>urn:feed</id><updated>2026-11-28T10:00:00Z</updated>
  <entry>
    <id>tag:example.org,2026:1</id>
    <link rel="self" href="http://example.org/self/1"/>
    <link rel="alternate" type="text/html" href="http://example.org/1"/>
    <title type="html">Eins &amp;lt;b&amp;gt;fett&amp;lt;/b&amp;gt;</title>
    <updated>2026-11-28T09:00:00+01:00</updated>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Text <a href="/x">mit Link</a></p></div></content>
  </entry>
  <entry>
    <link href="http://example.org/2"/>
    <id>urn:uuid:2</id>
    <title>Zwei</title>
    <published>2026-11-27T08:00:00Z</published>
    <updated>2026-11-28T08:00:00Z</updated>
    <source><id>urn:elsewhere</id><link href="http://elsewhere.org/"/></source>
  </entry>
  <entry>
    <id>urn:uuid:3</id>
    <link rel="enclosure" type="audio/mpeg" href="http://example.org/3.mp3"/>
    <title>Drei</title>
    <dc:date>2026-11-26T07:00:00Z</dc:date>
  </entry>
</feed>"""

RDF = """<?xml version="1.0" encoding="UTF-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
  xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns="http://purl.org/rss/1.0/"
  xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">
  <channel rdf:about="http://example.at/"><title>RDF</title><link>http://example.at/</link>
    <sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>
  </channel>
  <item rdf:about="http://example.at/a"><title>Österreich</title><link>http://example.at/a</link>
    <dc:date>2026-11-28T08:00:00+01:00</dc:date></item>
  <item rdf:about="http://example.at/b"><title>Zweite</title>
    <dc:date>Mo, 03 Mär 2025 10:00:00 MEZ</dc:date></item>
</rdf:RDF>""".encode()

# The order and attributes of guid and link decide what feedparser calls the link.
LINKS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"
  xmlns:dcterms="http://purl.org/dc/terms/"><channel><title>Links</title><ttl>15</ttl>
<item><guid>http://example.org/guid-first</guid><link>http://example.org/link-after</link>
  <title>guid first</title></item>
<item><link>http://example.org/link-first</link><guid>http://example.org/guid-after</guid>
  <title>link first</title></item>
<item><guid isPermaLink="false">urn:not-a-link</guid><title>not a permalink</title></item>
<item><guid isPermaLink="True">relative/by-case</guid><title>True is not true</title></item>
<item><guid>/relative/guid</guid><title>relative guid</title></item>
<item><link>  http://example.org/a?x=1&amp;amp;y=2&amp;z;  </link><title>ampersands</title></item>
<item><link><![CDATA[http://example.org/cdata?a=1&b=2]]></link><title>cdata</title></item>
<item><link></link><guid>http://example.org/empty-link</guid><title>empty link</title></item>
<item><atom:link href="http://example.org/atom-alternate"/><title>atom link</title></item>
<item><link>http://example.org/text</link><atom:link rel="alternate" type="text/html"
  href="http://example.org/overrides"/><title>atom link after</title></item>
<item><Link>http://example.org/upper</Link><PubDate>Tue, 24 Nov 2026 10:00:00 GMT</PubDate>
  <title>upper case</title></item>
<item><title>no identity at all</title><description>only a title</description></item>
<item><description>not even a title</description></item>
<item><guid>http://example.org/dates</guid><pubDate>Tue, 24 Nov 2026 10:00:00 GMT</pubDate>
  <dcterms:modified>2026-11-25T10:00:00Z</dcterms:modified>
  <dcterms:created>2026-11-20T10:00:00Z</dcterms:created><title>three dates</title></item>
<item><guid>http://example.org/bad-date</guid><pubDate>gestern Abend</pubDate></item>
<item><guid>http://example.org/umlaut-ä</guid><title>Grüße</title></item>
<item><guid>http://example.org/twice</guid><guid>http://example.org/second-wins</guid></item>
</channel></rss>""".encode()

# Documents the scan must leave to feedparser (it cannot read them as feedparser would).
UNREADABLE = {
    "xml:base": b'<rss version="2.0"><channel xml:base="http://example.org/base/"><item>'
    b"<link>relative</link><title>t</title></item></channel></rss>",
    "comment in guid": b'<rss version="2.0"><channel><item><guid>http://e.org/<!-- c -->1'
    b"</guid></item></channel></rss>",
    "markup in link": b'<rss version="2.0"><channel><item><link>http://e.org/<b>1</b></link>'
    b"</item></channel></rss>",
    "link inside author": b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>urn:1</id>'
    b'<author><name>A</name><link href="http://e.org/a"/></author></entry></feed>',
    "item in an image": b'<rss version="2.0"><channel><image><item><link>http://e.org/1</link>'
    b"</item></image></channel></rss>",
    "HTML entity": b'<rss version="2.0"><channel><item><title>&nbsp;</title>'
    b"<link>http://e.org/1</link></item></channel></rss>",
    "prefix bound twice": b'<rss xmlns:a="urn:a" version="2.0"><channel><item>'
    b'<link>http://e.org/1</link><x xmlns:a="urn:b"/></item></channel></rss>',
    "not XML": b"<rss><channel><item><link>http://e.org/1</link><item>",
}


def real_feeds() -> list[tuple[str, bytes, dict[str, str]]]:
    folder = SHARED / "data" / "feeds"
    return [(p.name, p.read_bytes(), RSS_TYPE) for p in sorted(folder.glob("*.xml"))]


def fixtures() -> list[tuple[str, bytes, dict[str, str]]]:
    """Every feed document the other tests serve or parse, and the ones above."""
    old = datetime.now(UTC) - timedelta(hours=30)
    docs: list[tuple[str, bytes, dict[str, str]]] = [
        ("atom", ATOM, {"Content-Type": "application/atom+xml"}),
        ("atom, relative to Content-Location", ATOM.replace(b"http://example.org/", b"/"),
         {"content-location": "http://example.org/feeds/atom.xml"}),
        ("rdf", RDF, {}),
        ("links", LINKS, RSS_TYPE),
        ("links, lower-case headers", LINKS, {"content-type": "text/xml; charset=utf-8"}),
        ("conftest rss", rss([
            {"title": "Nordkorea", "link": "http://127.0.0.1:9/a", "description": "<p>x</p>"},
            {"title": "Alt", "link": "http://127.0.0.1:9/b", "guid": "g-b", "date": old},
            {"title": "Ohne Datum", "link": "http://127.0.0.1:9/c", "date": None},
        ]).encode(), RSS_TYPE),
        ("quadratic bomb", QUADRATIC_BOMB, RSS_TYPE),
        ("billion laughs", BILLION_LAUGHS_ONE_LINE, RSS_TYPE),
        ("german dates", (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
            "<item><title>Nur Titel</title><pubDate>Mo, 03 Mär 2025 10:00:00 MEZ</pubDate></item>"
            "</channel></rss>"
        ).encode(), {}),
        ("empty channel", b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
         b"<ttl>15</ttl></channel></rss>", {}),
        ("truncated", b'<rss version="2.0"><channel><item><title>Eins</title>'
         b"<link>http://e.org/1</link></item><item><title>Zw", {}),
        ("html page", b"<!DOCTYPE html><html><body>Consent</body></html>",
         {"Content-Type": "text/html"}),
    ]  # fmt: skip
    base = good_feed("base")
    latin1 = good_feed("latin1").decode().replace("(latin1)", "(latin1) Grüße").encode("latin-1")
    cp1252 = good_feed("cp1252").decode().replace("(cp1252)", "(cp1252) „Grüße“")
    docs += [
        ("faults: base", base, RSS_TYPE),
        ("faults: huge comment", base.replace(b"</channel>", b"<!--" + b"x" * 300_000 + b"-->"
         b"</channel>"), RSS_TYPE),
        ("faults: latin1", latin1, {"Content-Type": "application/rss+xml; charset=iso-8859-1"}),
        ("faults: cp1252", cp1252.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
         .encode("cp1252"), RSS_TYPE),
        ("faults: utf8 as latin1", good_feed("utf8").replace(b"(utf8)", "(utf8) Grüße".encode()),
         {"Content-Type": "application/rss+xml; charset=ISO-8859-1"}),
        ("faults: invalid utf8", good_feed("x").replace(b"Soldaten aus", b"Soldaten \xff\xfe aus"),
         RSS_TYPE),
        ("faults: bom", b"\xef\xbb\xbf" + good_feed("bom"), RSS_TYPE),
    ]  # fmt: skip
    site = build_site(load_samples(), "http://127.0.0.1:9", NOW)
    docs += [(f"demo {path}", body, {"Content-Type": kind}) for path, (body, kind) in site.items()
             if path.endswith(".xml")]  # fmt: skip
    docs += [(f"unreadable: {name}", body, RSS_TYPE) for name, body in UNREADABLE.items()]
    return docs


def whole(body: bytes, headers: dict[str, str]) -> ParsedFeed | None:
    try:
        return parse_feed("F", body, headers)
    except ParseError:
        return None


def assert_same_entries(body: bytes, headers: dict[str, str]) -> Scan | None:
    """Both paths give the same entries, item by item; return the scan (None: not readable)."""
    expected = whole(body, headers)
    scan = scan_feed(body, headers)
    if scan is None:
        return None
    if expected is None:  # "not a feed": no usable item; the pipeline parses it all and says so
        assert not any(item.guid or item.link for item in scan.items)
        assert not [e for i in range(len(scan.items)) for e in parse_items("F", scan, [i]).entries]
        return scan
    # Each item parsed on its own, the others cut out: exactly the whole feed's entries.
    one_by_one = [parse_items("F", scan, [index]).entries for index in range(len(scan.items))]
    assert [e for entries in one_by_one for e in entries] == expected.entries
    for item, entries in zip(scan.items, one_by_one, strict=True):
        if item.guid or item.link:  # identified: the scan read what feedparser reads
            [entry] = entries
            assert (item.guid, item.link, item.published) == (
                entry.guid,
                entry.link,
                entry.published,
            )
    every_other = list(range(0, len(scan.items), 2))
    assert parse_items("F", scan, every_other).entries == [
        e for index in every_other for e in one_by_one[index]
    ]
    assert scan.ttl == expected.ttl
    return scan


@pytest.mark.parametrize(
    ("name", "body", "headers"), [pytest.param(*doc, id=doc[0]) for doc in fixtures()]
)
def test_fixture_feeds_give_the_same_entries_either_way(
    name: str, body: bytes, headers: dict[str, str]
) -> None:
    scan = assert_same_entries(body, headers)
    if name.startswith("unreadable") or name in {
        "quadratic bomb",
        "billion laughs",
        "truncated",
        "html page",
        "empty channel",
    }:
        assert scan is None
    else:
        assert scan is not None, f"{name}: the pre-scan should read this feed"


def test_every_real_feed_is_read_by_the_scan_with_the_same_entries() -> None:
    feeds = real_feeds()
    if not feeds:
        pytest.skip(f"{SHARED / 'data' / 'feeds'} not available")
    for name, body, headers in feeds:
        scan = assert_same_entries(body, headers)
        assert scan is not None, f"{name}: the pre-scan should read this feed"
        assert scan.spans, f"{name}: its items should be cut out, not the whole feed parsed"


@pytest.mark.parametrize(
    "body",
    [
        QUADRATIC_BOMB,
        BILLION_LAUGHS_ONE_LINE,
        b'<rss version="2.0"><channel><item>'
        + b"<a>" * 100_000
        + b"</a>" * 100_000
        + b"<link>http://e.org/1</link></item></channel></rss>",
        b'<rss version="2.0"><channel><item><link>http://e.org/1</link><description>'
        + b"x" * (MAX_SCAN_BYTES + 1)
        + b"</description></item></channel></rss>",
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<rss version="2.0"><channel><item><link>&xxe;</link></item></channel></rss>',
        b'<rss version="2.0"><channel><item><link>&lol9;</link></item></channel></rss>',
    ],
    ids=["quadratic", "billion-laughs", "deep", "huge", "external-entity", "undeclared-entity"],
)
def test_hostile_documents_are_left_to_feedparser_at_once(body: bytes) -> None:
    started = time.monotonic()
    assert scan_feed(body, RSS_TYPE) is None
    assert time.monotonic() - started < 5


DATES = [
    "Tue, 24 Nov 2026 10:00:00 GMT",
    "2026-11-24T10:00:00+01:00",
    "Mo, 03 Mär 2025 10:00:00 MEZ",
    "03.03.2025 10:00",
    "gestern",
    "",
]
LINK_TEXT = st.sampled_from(
    ["http://e.org/a", "https://e.org/ä?x=1&y=2", "/relative", "", " http://e.org/sp "]
)


@st.composite
def item(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["guid", "link", "alink", "date", "dc", "title", "x"]))
        text = escape(draw(LINK_TEXT))
        if kind == "guid":
            permalink = draw(st.sampled_from(["", ' isPermaLink="false"', ' isPermaLink="true"']))
            parts.append(f"<guid{permalink}>{text}</guid>")
        elif kind == "link":
            parts.append(f"<link>{text}</link>")
        elif kind == "alink":
            rel = draw(st.sampled_from(["", ' rel="alternate"', ' rel="self"', ' rel="related"']))
            parts.append(f'<atom:link{rel} href="{text}"/>')
        elif kind in ("date", "dc"):
            tag = "pubDate" if kind == "date" else "dc:date"
            parts.append(f"<{tag}>{escape(draw(st.sampled_from(DATES)))}</{tag}>")
        elif kind == "title":
            title = draw(st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=12))
            parts.append(f"<title>{escape(title)}</title>")
        else:
            parts.append("<category>x</category>")
    return "<item>" + "".join(parts) + "</item>"


@st.composite
def entry(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["id", "link", "published", "updated", "source", "Title"]))
        text = escape(draw(LINK_TEXT))
        if kind == "id":
            parts.append(f"<id>{text}</id>")
        elif kind == "link":
            rel = draw(st.sampled_from(["", ' rel="alternate"', ' rel="self"', ' rel="ALTERNATE"']))
            kind_of = draw(
                st.sampled_from(["", ' type="text/html"', ' type="html"', ' type="x/y"'])
            )
            parts.append(f'<link{rel}{kind_of} href="{text}"/>')
        elif kind in ("published", "updated"):
            parts.append(f"<{kind}>{escape(draw(st.sampled_from(DATES)))}</{kind}>")
        elif kind == "source":
            parts.append(f'<source><id>urn:s</id><link href="{text}"/></source>')
        else:
            parts.append("<Title>Gro&#223;e Worte</Title>")
    return "<entry>" + "".join(parts) + "</entry>"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(entry(), min_size=1, max_size=6))
def test_generated_atom_feeds_give_the_same_entries_either_way(entries: list[str]) -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>G</title>{''.join(entries)}</feed>"
    ).encode()
    assert assert_same_entries(body, {"content-type": "application/atom+xml"}) is not None


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(item(), min_size=1, max_size=6),
    st.sampled_from([{}, RSS_TYPE, {"content-location": "http://e.org/feed/x.xml"}]),
)
def test_generated_feeds_give_the_same_entries_either_way(
    items: list[str], headers: dict[str, str]
) -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>G</title>{''.join(items)}</channel></rss>"
    ).encode()
    assert assert_same_entries(body, headers) is not None


def test_a_benchmark_sized_feed_is_read_item_by_item() -> None:
    body = rss(
        [{"title": f"Meldung {n}", "link": f"http://e.org/{n}", "date": NOW} for n in range(50)]
    ).encode()
    scan = scan_feed(body, RSS_TYPE)
    assert scan is not None and len(scan.items) == 50 and len(scan.spans) == 50
    assert scan.items[7].link == "http://e.org/7" and scan.items[7].title == "Meldung 7"
    assert scan.items[7].published == NOW
