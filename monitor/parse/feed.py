"""Turn feed bytes into entries (feedparser); pure, safe to run in a worker process."""

from __future__ import annotations

import calendar
import io
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser
import lxml.html
from lxml.etree import ParserError as LxmlParserError

from monitor.errors import ParseError
from monitor.models import Entry

# A DOCTYPE's internal subset is where entity-expansion attacks live; feeds never need one.
_DOCTYPE = re.compile(rb"<!DOCTYPE\b[^\[>]*(?:\[.*?\]\s*)?>", re.IGNORECASE | re.DOTALL)
_SPACE = re.compile(r"\s+")
_GERMAN_MONTHS = {
    "jan": 1, "januar": 1, "jänner": 1, "feb": 2, "februar": 2, "mär": 3, "mrz": 3, "märz": 3,
    "apr": 4, "april": 4, "mai": 5, "jun": 6, "juni": 6, "jul": 7, "juli": 7, "aug": 8,
    "august": 8, "sep": 9, "sept": 9, "september": 9, "okt": 10, "oktober": 10, "nov": 11,
    "november": 11, "dez": 12, "dezember": 12,
}  # fmt: skip
_GERMAN_DATE = re.compile(
    r"(?P<day>\d{1,2})\.?\s*(?P<month>[A-Za-zäÄ]+|\d{1,2})\.?\s*(?P<year>\d{4})"
    r"(?:[ ,T]+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?)?"
    r"\s*(?P<zone>MESZ|MEZ|CEST|CET|UTC|GMT|Z|[+-]\d{2}:?\d{2})?"
)
_ZONES = {"MEZ": 60, "CET": 60, "MESZ": 120, "CEST": 120, "UTC": 0, "GMT": 0, "Z": 0}


def strip_doctype(body: bytes) -> bytes:
    """Remove the DOCTYPE and its internal subset, defusing entity-expansion attacks."""
    return _DOCTYPE.sub(b"", body, count=1)


_LEGACY_CHARSETS = {
    "iso-8859-1",
    "latin-1",
    "latin1",
    "iso-8859-15",
    "windows-1252",
    "cp1252",
    "us-ascii",
}
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)


def trusted_charset(body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
    """Drop a legacy charset from Content-Type when the body is plainly UTF-8.

    feedparser lets the HTTP charset win; servers that label UTF-8 as ISO-8859-1 would then
    turn every umlaut into two characters. Valid multi-byte UTF-8 is never Latin-1 text.
    """
    result = dict(headers)
    for name, value in headers.items():
        if name.lower() != "content-type":
            continue
        declared = _CHARSET.search(value)
        if declared and declared.group(1).lower() in _LEGACY_CHARSETS and _is_utf8_text(body):
            result[name] = _CHARSET.sub("charset=utf-8", value)
    return result


def _is_utf8_text(body: bytes) -> bool:
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A feed's entries, and how often the feed says it changes (seconds), if it says."""

    entries: list[Entry]
    ttl: int | None = None


def parse_feed(feed: str, body: bytes, headers: Mapping[str, str]) -> ParsedFeed:
    """Parse a feed document into entries; raise `ParseError` if it holds no feed at all."""
    body = strip_doctype(body)
    parsed = run_feedparser(body, trusted_charset(body, headers))
    entries = [e for e in (entry_of(feed, raw) for raw in parsed.entries) if usable(e)]
    if not entries and not _looks_like_feed(parsed):
        raise ParseError(_not_a_feed_reason(body, headers, parsed))
    return ParsedFeed(entries, ttl_of(parsed.feed))


def run_feedparser(body: bytes, headers: Mapping[str, str]) -> Any:
    """Run feedparser on bytes, never on a string (it would open URLs and local files)."""
    return feedparser.parse(io.BytesIO(body), response_headers=dict(headers))


_PERIODS = {
    "hourly": 3600,
    "daily": 86400,
    "weekly": 604800,
    "monthly": 2592000,
    "yearly": 31536000,
}


def ttl_of(channel: Any) -> int | None:
    """Read RSS <ttl> (minutes) or sy:updatePeriod/updateFrequency; ignore nonsense."""
    ttl = str(dict.get(channel, "ttl") or "").strip()
    if ttl.isdigit() and 0 < int(ttl) <= 7 * 24 * 60:
        return int(ttl) * 60
    period = _PERIODS.get(str(dict.get(channel, "sy_updateperiod") or "").strip().lower())
    frequency = str(dict.get(channel, "sy_updatefrequency") or "1").strip()
    if period is None or not frequency.isdigit() or int(frequency) < 1:
        return None
    return period // int(frequency)


def html_to_text(fragment: str) -> str:
    """Return the visible text of an HTML fragment, whitespace collapsed."""
    if "<" not in fragment and "&" not in fragment:
        return _SPACE.sub(" ", fragment).strip()
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (LxmlParserError, ValueError):
        return _SPACE.sub(" ", fragment).strip()
    for bad in root.xpath("//script|//style"):
        bad.drop_tree()
    return _SPACE.sub(" ", root.text_content()).strip()


def parse_german_date(text: str) -> datetime | None:
    """Read dates such as `Mo, 03 Mär 2025 10:00:00 MEZ` or `03.03.2025 10:00` (UTC result)."""
    found = _GERMAN_DATE.search(text)
    if found is None:
        return None
    month_text = found["month"].lower()
    month = int(month_text) if month_text.isdigit() else _GERMAN_MONTHS.get(month_text.rstrip("."))
    if month is None:
        return None
    zone = found["zone"] or "MEZ"  # German outlets that omit a zone mean German local time
    offset = _ZONES.get(zone.upper())
    if offset is None:
        sign = -1 if zone.startswith("-") else 1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 60 + int(digits[2:]))
    try:
        local = datetime(
            int(found["year"]), month, int(found["day"]),
            int(found["hour"] or 0), int(found["minute"] or 0), int(found["second"] or 0),
            tzinfo=UTC,
        )  # fmt: skip
    except ValueError:
        return None
    return datetime.fromtimestamp(local.timestamp() - offset * 60, UTC)


def entry_of(feed: str, raw: Any) -> Entry:
    """Build our entry from one of feedparser's."""
    summary = raw.get("summary_detail")
    if not summary and raw.get("content"):
        summary = raw["content"][0]
    return Entry(
        feed=feed,
        guid=(raw.get("id") or None),
        link=(raw.get("link") or None),
        title=_text(raw.get("title_detail")),
        summary=_text(summary),
        published=published_of(raw),
    )


def usable(entry: Entry) -> bool:
    """An item with no title, link, id or summary can be neither identified nor shown."""
    return bool(entry.title or entry.link or entry.guid or entry.summary)


def _text(detail: Any) -> str:
    """Return the text of a feedparser text construct, which may be plain text or HTML."""
    if not detail:
        return ""
    value = str(detail.get("value") or "")
    if detail.get("type") == "text/plain":
        return _SPACE.sub(" ", value).strip()
    return html_to_text(value)


def published_of(raw: Any) -> datetime | None:
    """Return an item's date: the parsed published, updated or created date, or a German one."""
    # dict.get: feedparser's own get() maps missing dates to others with a DeprecationWarning.
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = dict.get(raw, key)
        if isinstance(value, time.struct_time):
            return datetime.fromtimestamp(calendar.timegm(value), UTC)
    for key in ("published", "updated", "created"):
        value = dict.get(raw, key)
        if isinstance(value, str) and (parsed := parse_german_date(value)) is not None:
            return parsed
    return None


def _looks_like_feed(parsed: Any) -> bool:
    """An empty but well-formed feed (a channel with no items yet) is not an error."""
    return bool(parsed.get("version")) and not parsed.get("bozo")


def _not_a_feed_reason(body: bytes, headers: Mapping[str, str], parsed: Any) -> str:
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    head = body[:512].lstrip().lower()
    if not body.strip():
        return "empty body, not a feed"
    if "html" in content_type.lower() or head.startswith((b"<!doctype html", b"<html")):
        return "got an HTML page, not a feed"
    problem = parsed.get("bozo_exception")
    detail = f": {_SPACE.sub(' ', str(problem))[:200]}" if problem else ""
    return f"not a feed (no RSS, Atom or RDF items found{detail})"
