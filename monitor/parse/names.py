"""Element and attribute names as feedparser's handlers know them (`dc_date`, `link`,
`rdf:about`): from the namespace URIs feedparser recognises and the document's own prefixes,
the way feedparser 6.0's strict parser derives them."""

from __future__ import annotations

import re
from typing import Any

from feedparser.mixin import _FeedParserMixin

# Namespace URI (lower-cased) -> the prefix feedparser gives its elements ("" for RSS/Atom).
_KNOWN = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
_XMLNS = re.compile(rb"xmlns(?::([^\s=/>]+))?\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_BLANK = frozenset(b" \t\r\n")


class Names:
    """Element and attribute names as feedparser's handlers know them (`dc_date`, `link`)."""

    def __init__(self) -> None:
        self.prefixes: dict[str | None, str] = {}  # document prefix -> feedparser prefix
        self.in_use: dict[str, str] = {}  # feedparser's namespaces_in_use
        self._keys: dict[str, str] = {}

    @classmethod
    def declared_in(cls, document: bytes) -> Names | None:
        """Learn the document's namespace declarations; None when a prefix means two things
        (feedparser would then read elements differently before and after the second)."""
        names = cls()
        bound: dict[str, str] = {}
        for found in _XMLNS.finditer(document):
            if document[found.start() - 1] not in _BLANK:
                continue
            prefix = found.group(1).decode("utf-8", "replace") if found.group(1) else None
            uri = (found.group(2) if found.group(2) is not None else found.group(3)) or b""
            if b"&" in uri:
                return None
            text = uri.decode("utf-8", "replace")
            # The default namespace may change (XHTML content): no name depends on it.
            if prefix is not None and bound.setdefault(prefix, text) != text:
                return None
            if text:
                names._track(prefix, text)
        return names

    def _track(self, prefix: str | None, uri: str) -> None:
        lowered = uri.lower()
        if "backend.userland.com/rss" in lowered:
            uri = lowered = "http://backend.userland.com/rss"
        known = _KNOWN.get(lowered)
        if known is not None:
            self.prefixes[prefix] = known
            self.in_use[known] = uri
        else:
            self.in_use[prefix or ""] = uri

    def key(self, tag: str) -> str:
        """Return feedparser's handler name for an lxml tag ('{uri}local' or 'local')."""
        found = self._keys.get(tag)
        if found is None:
            found = self._keys[tag] = self._element_key(tag)
        return found

    def _element_key(self, tag: str) -> str:
        uri, _, local = tag[1:].rpartition("}") if tag.startswith("{") else ("", "", tag)
        lowered = uri.lower()
        if "backend.userland.com/rss" in lowered:
            uri = lowered = "http://backend.userland.com/rss"
        known = _KNOWN.get(lowered)
        if known:
            name = f"{known}:{local}"
        elif uri:
            prefix = next((p for p, u in self.in_use.items() if p and u == uri), None)
            name = f"{prefix}:{local}" if prefix else local
        else:
            name = local
        head, colon, tail = name.lower().partition(":")
        if not colon:
            return head
        head = self.prefixes.get(head, head)
        return f"{head}_{tail}" if head else tail

    def attributes(self, element: Any) -> dict[str, str]:
        """Return an element's attributes keyed as feedparser keys them (`rdf:about`)."""
        found = {}
        for name, value in element.attrib.items():
            uri, _, local = name[1:].rpartition("}") if name.startswith("{") else ("", "", name)
            prefix = _KNOWN.get(uri.lower(), "")
            key = (f"{prefix}:{local}" if prefix else local).lower()
            found[key] = value.lower() if key in ("rel", "type") else value
        return found

    def standard(self, name: str) -> str:
        """feedparser's `_map_to_standard_prefix`."""
        head, colon, tail = name.partition(":")
        return f"{self.prefixes.get(head, head)}:{tail}" if colon else name
