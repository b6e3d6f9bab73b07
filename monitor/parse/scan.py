"""Read what identifies each item of a feed (GUID, link, date) without parsing the feed, and
parse only the items asked for.

Most polls bring no new item, and feedparser costs some 0.3 ms per item (real feeds). `scan_feed`
reads the items' identities in one bounded lxml parse (no DTD, no entity expansion, no network,
libxml2's limits on nesting depth and node size, at most MAX_SCAN_BYTES), exactly as
feedparser 6.0 reads them: the same decoding, element names, URL resolution, text clean-up and
date parser, through feedparser's own helpers. A document it cannot read that way (a DOCTYPE,
xml:base, an item outside its channel, markup inside a GUID, XML that feedparser's strict parser
refuses ...) gets None, and the caller parses the whole feed as before. `parse_items` runs
feedparser on the document with every other item cut out. tests/test_scan.py compares both
with parsing the whole feed, item by item.
"""

from __future__ import annotations

import contextlib
import pyexpat
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import lxml.etree
from feedparser.datetimes import _parse_date
from feedparser.encodings import convert_to_utf8
from feedparser.html import _cp1252
from feedparser.urls import _urljoin, make_safe_absolute_uri

from monitor.parse.feed import (
    ParsedFeed,
    entry_of,
    html_to_text,
    published_of,
    run_feedparser,
    strip_doctype,
    trusted_charset,
    ttl_of,
    usable,
)
from monitor.parse.names import Names

MAX_SCAN_BYTES = 16 * 1024 * 1024
_ITEM = frozenset({"item", "entry"})
# feedparser's element names (prefix_local) that set an item's dates, and the key each sets
_DATES = {
    **dict.fromkeys(("published", "issued", "pubdate", "dcterms_issued"), "published"),
    **dict.fromkeys(("updated", "modified", "lastbuilddate", "dc_date"), "updated"),
    "dcterms_modified": "updated",
    **dict.fromkeys(("created", "dcterms_created"), "created"),
}
_IDENTITY = frozenset({"guid", "id", "link", *_DATES})
# Anywhere below an item's own children these would change what feedparser reads.
_NOT_NESTED = _IDENTITY | _ITEM | {"source", "image", "textinput"}
_NOT_CHILDREN = frozenset(
    {"image", "textinput", "published_parsed", "updated_parsed", "created_parsed"}
)
_TTL = frozenset({"ttl", "sy_updateperiod", "sy_updatefrequency"})
_TITLES = frozenset({"title", "dc_title"})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# xml:base (or any attribute named base) moves the base URI per element, which the scan does
# not follow; matched on the lower-cased document (feedparser lower-cases attribute names).
_BASE = re.compile(rb"base\s*=")
_ENTITY_IN_LINK = re.compile(r"&([A-Za-z0-9_]+);")
_UTF8 = "application/xml; charset=utf-8"


@dataclass(frozen=True, slots=True)
class ItemId:
    """What identifies one item, as feedparser reads it; `title` is for people, best effort."""

    guid: str | None
    link: str | None
    published: datetime | None
    title: str = ""


@dataclass(frozen=True, slots=True)
class Scan:
    """A feed's items in document order, its refresh hint, and what `parse_items` needs.

    `document` is the feed as feedparser reads it (UTF-8), `headers` the response headers
    with the charset set to match, `spans` where each item's bytes lie in `document`, empty
    when the items cannot be cut out (the whole document is then parsed instead).
    """

    items: tuple[ItemId, ...]
    ttl: int | None
    document: bytes
    headers: dict[str, str]
    spans: tuple[tuple[int, int], ...]


def scan_feed(body: bytes, headers: Mapping[str, str]) -> Scan | None:
    """Read each item's GUID, link and date; None when only feedparser can read the feed."""
    if len(body) > MAX_SCAN_BYTES:
        return None
    body = strip_doctype(body)
    trusted = trusted_charset(body, headers)
    detected: dict[str, Any] = {}
    document = convert_to_utf8(dict(trusted), body, detected)
    if not detected.get("encoding") or _unreadable(document):
        return None
    try:
        # feedparser's strict parser is expat: where expat fails, feedparser reads the feed
        # with its loose parser, whose readings the scan does not imitate.
        pyexpat.ParserCreate(namespace_separator=" ").Parse(document, True)
        root = lxml.etree.fromstring(document, _parser())
    except (pyexpat.ExpatError, lxml.etree.XMLSyntaxError):
        return None
    names = Names.declared_in(document)
    if names is None:
        return None
    reader = _Reader(names, _base_uri(trusted))
    found = reader.read(root)
    if found is None:
        return None
    items, elements, ttl = found
    utf8 = {k: v for k, v in trusted.items() if k.lower() != "content-type"}
    utf8["content-type"] = _UTF8
    return Scan(items, ttl, document, utf8, _spans(document, elements))


def parse_items(feed: str, scan: Scan, keep: Sequence[int]) -> ParsedFeed:
    """Parse only the items at `keep` (indexes into `scan.items`) with feedparser.

    The other items are cut out of the document first. When they cannot be, or feedparser
    does not give one entry per item kept, the whole document is parsed and the kept items
    picked from it (all of them, should feedparser count the items differently).
    """
    wanted = sorted(set(keep))
    if scan.spans:
        parsed = run_feedparser(_cut(scan.document, scan.spans, wanted), scan.headers)
        if len(parsed.entries) == len(wanted):
            return _parsed(feed, parsed.entries, parsed.feed)
    parsed = run_feedparser(scan.document, scan.headers)
    raws = parsed.entries
    if len(raws) == len(scan.items):
        raws = [raws[index] for index in wanted]
    return _parsed(feed, raws, parsed.feed)


def _parsed(feed: str, raws: Sequence[Any], channel: Any) -> ParsedFeed:
    entries = [e for e in (entry_of(feed, raw) for raw in raws) if usable(e)]
    return ParsedFeed(entries, ttl_of(channel))


_local = threading.local()  # an lxml parser must not be shared between threads


def _parser() -> lxml.etree.XMLParser:
    parser: lxml.etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = lxml.etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,  # keeps libxml2's limits: nesting depth 256, text nodes of 10 MB
            collect_ids=False,
        )
    return parser


def _base_uri(headers: Mapping[str, str]) -> str:
    """The base URI feedparser resolves against: Content-Location, made safe, settled."""
    location = headers.get("content-location", "")  # feedparser looks it up in lower case
    base = make_safe_absolute_uri("", location) or make_safe_absolute_uri(location) or ""
    for _ in range(4):  # feedparser re-derives it at every element; it settles at once
        settled = make_safe_absolute_uri(base, base) or base if base else base
        if settled == base:
            return base
        base = settled
    return base


class _Reader:
    """Reads the items of one parsed document."""

    def __init__(self, names: Names, base: str) -> None:
        self.names = names
        self.base = base

    def read(self, root: Any) -> tuple[tuple[ItemId, ...], list[Any], int | None] | None:
        """Return the items, their elements and the TTL; None if the layout is unusual."""
        walked = self._walk(root)
        if walked is None or not walked[0]:
            return None  # no items: nothing to save, and feedparser says whether it is a feed
        elements, hints = walked
        items = []
        for element in elements:
            item = self._item(element)
            if item is None:
                return None
            items.append(item)
        return tuple(items), elements, ttl_of(hints)

    def _walk(self, root: Any) -> tuple[list[Any], dict[str, str]] | None:
        """Find the items and the feed's refresh hints, each where feedparser expects it."""
        key = self.names.key
        channel = root if key(root.tag) == "feed" else self._channel(root)
        elements = []
        hints: dict[str, str] = {}
        for element in root.iter():
            if not isinstance(element.tag, str):
                continue
            name = key(element.tag)
            if name in _ITEM:
                parent = element.getparent()
                if parent is not root and parent is not channel:
                    return None
                elements.append(element)
            elif name in _TTL and not self._within_item(element):
                if element.getparent() is not channel or len(element):
                    return None
                hints[name] = _clean((element.text or "").strip())
        return elements, hints

    def _channel(self, root: Any) -> Any:
        key = self.names.key
        return next(
            (child for child in root if isinstance(child.tag, str) and key(child.tag) == "channel"),
            None,
        )

    def _within_item(self, element: Any) -> bool:
        return any(
            isinstance(up.tag, str) and self.names.key(up.tag) in _ITEM
            for up in element.iterancestors()
        )

    def _item(self, element: Any) -> ItemId | None:
        """Read one item as feedparser's handlers would fill its entry."""
        attributes = self.names.attributes(element)
        if "lastmod" in attributes or "href" in attributes:
            return None  # CDF attributes: feedparser reads dates and links from them
        raw: dict[str, Any] = {}
        about = attributes.get(self.names.standard("rdf:about"))
        if about:
            raw["id"] = about
        title = ""
        for child in element:
            if not isinstance(child.tag, str):
                continue
            name = self.names.key(child.tag)
            if not self._child(name, child, raw):
                return None
            if not title and name in _TITLES:
                title = _title("".join(child.itertext()))
        guid, link = raw.get("id") or None, raw.get("link") or None
        return ItemId(guid, link, published_of(raw), title)

    def _child(self, name: str, child: Any, raw: dict[str, Any]) -> bool:
        """Read one child of an item into `raw`; False when the scan cannot read it."""
        if name in _IDENTITY:
            if len(child):  # markup, a comment or a PI inside: feedparser joins differently
                return False
            self._identity(name, child, raw)
            return True
        if name in _NOT_CHILDREN:
            return False
        # What is inside <source> describes the item's origin, not the item.
        return name == "source" or self._plain_below(child)

    def _plain_below(self, child: Any) -> bool:
        """Say whether nothing below an item's child would change the item's identity."""
        key = self.names.key
        return not any(
            isinstance(below.tag, str) and key(below.tag) in _NOT_NESTED
            for below in child.iterdescendants()
        )

    def _identity(self, name: str, child: Any, raw: dict[str, Any]) -> None:
        text = (child.text or "").strip()
        if name in _DATES:
            field = _DATES[name]
            raw[field] = value = _clean(text)
            raw[f"{field}_parsed"] = _parse_date(value)
        elif name in ("guid", "id"):
            is_link = self.names.attributes(child).get("ispermalink", "true") == "true"
            value = _clean(_resolve(self.base, text) if text and is_link else text)
            raw["id"] = value
            if is_link:
                raw.setdefault("link", value)
        else:
            self._link(self.names.attributes(child), text, raw)

    def _link(self, attributes: dict[str, str], text: str, raw: dict[str, Any]) -> None:
        """feedparser's `_start_link` and `_end_link` for an item's link."""
        rel = attributes.setdefault("rel", "alternate")
        default = "application/atom+xml" if rel == "self" else "text/html"
        kind = attributes.setdefault("type", default)
        href = attributes.get("url", attributes.get("uri", attributes.get("href")))
        if href:
            attributes["href"] = href
        if "href" in attributes:
            if rel == "alternate" and _content_type(kind) in _HTML_TYPES:
                raw["link"] = _resolve(self.base, attributes["href"])
            return
        value = _clean(_resolve(self.base, text) if text else text)
        if "&" in value:
            value = _ENTITY_IN_LINK.sub(r"&\g<1>", value.replace("&amp;", "&"))
        raw["link"] = value


def _unreadable(document: bytes) -> bool:
    """Say whether the document has entities (only a DOCTYPE could declare them) or bases."""
    lowered = document.lower()
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        return True
    return any(lowered[found.start() - 1] in b" \t\r\n:" for found in _BASE.finditer(lowered))


def _resolve(base: str, uri: str) -> str:
    """feedparser's `_urljoin`, skipped where it would change nothing."""
    if not base and ":///" not in uri:
        return uri
    return str(_urljoin(base, uri))


def _clean(text: str) -> str:
    """What feedparser does to every value: undo UTF-8 read as Latin-1, map cp1252 controls."""
    if text.isascii():
        return text
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        text = text.encode("iso-8859-1").decode("utf-8")
    return text.translate(_cp1252)


def _title(text: str) -> str:
    text = _clean(text.strip())
    if "<" in text or "&" in text:
        return html_to_text(text)
    return " ".join(text.split())


def _content_type(value: str) -> str:
    value = value.lower()
    return {"text": "text/plain", "plain": "text/plain", "html": "text/html"}.get(
        value, "application/xhtml+xml" if value == "xhtml" else value
    )


def _spans(document: bytes, elements: Sequence[Any]) -> tuple[tuple[int, int], ...]:
    """Find each item's bytes; () unless every item tag found is an item (the count agrees).

    A tag-like text inside a comment or CDATA section would add to the count, never hide an
    item, so an equal count means the spans are the items.
    """
    qnames = set()
    for element in elements:
        local = lxml.etree.QName(element).localname
        qnames.add(f"{element.prefix}:{local}" if element.prefix else local)
    names = b"|".join(re.escape(q.encode("utf-8")) for q in sorted(qnames, key=len, reverse=True))
    tags = re.compile(rb"<(/?)(?:" + names + rb")(?=[\s/>])((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
    spans = []
    start: int | None = None
    for tag in tags.finditer(document):
        if tag.group(1):
            if start is None:
                return ()
            spans.append((start, tag.end()))
            start = None
        elif start is not None:
            return ()
        elif tag.group(2).endswith(b"/"):
            spans.append((tag.start(), tag.end()))
        else:
            start = tag.start()
    if start is not None or len(spans) != len(elements):
        return ()
    return tuple(spans)


def _cut(document: bytes, spans: Sequence[tuple[int, int]], keep: Sequence[int]) -> bytes:
    """Return the document without the items not in `keep`."""
    kept = set(keep)
    parts = []
    position = 0
    for index, (start, end) in enumerate(spans):
        if index not in kept:
            parts.append(document[position:start])
            position = end
    parts.append(document[position:])
    return b"".join(parts)
