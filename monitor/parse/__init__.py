"""Feed bytes -> entries: the whole feed with feedparser (`feed`), or only its new items after
a cheap pre-scan of every item's identity (`scan`)."""

from monitor.parse.feed import (
    ParsedFeed,
    html_to_text,
    parse_feed,
    parse_german_date,
    strip_doctype,
)
from monitor.parse.scan import ItemId, Scan, parse_items, scan_feed

__all__ = [
    "ItemId",
    "ParsedFeed",
    "Scan",
    "html_to_text",
    "parse_feed",
    "parse_german_date",
    "parse_items",
    "scan_feed",
    "strip_doctype",
]
