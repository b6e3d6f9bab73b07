"""Read an OPML export of another reader and decide which of its feeds to add.

`read_opml` parses the file (hostile input: size-capped, no DTDs or entities);
`plan_import` compares its feeds with the configured ones. Writing feeds.yaml is config.py's job.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pydantic import ValidationError

from monitor.config import FeedConfig
from monitor.dedup import canonical_url
from monitor.errors import OpmlError

MAX_OPML_BYTES = 5 * 1024 * 1024
_DECLARATION = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Outline:
    """One feed listed in an OPML file: its title and feed URL."""

    title: str
    url: str


@dataclass(slots=True)
class ImportPlan:
    """The feeds to add, and the outlines left out with the reason."""

    added: list[FeedConfig] = field(default_factory=list)
    skipped: list[tuple[Outline, str]] = field(default_factory=list)


def read_opml(data: bytes) -> list[Outline]:
    """Return every outline with an `xmlUrl`, in document order (folders are flattened)."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(f"larger than {MAX_OPML_BYTES // (1024 * 1024)} MiB")
    if _DECLARATION.search(data):
        raise OpmlError("DOCTYPE or ENTITY declarations are not allowed in OPML")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line, column = exc.position
        raise OpmlError(f"not well-formed XML at line {line}, column {column + 1}") from None
    if root.tag != "opml":
        raise OpmlError(f"not an OPML document (the root element is <{root.tag}>)")
    outlines = []
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if not url:
            continue  # a folder, or a plain link
        title = (outline.get("title") or outline.get("text") or "").strip()
        outlines.append(Outline(" ".join(title.split()) or urlsplit(url).hostname or url, url))
    return outlines


def plan_import(
    outlines: Sequence[Outline], existing: Sequence[FeedConfig], interval: int
) -> ImportPlan:
    """Choose the outlines to add as feeds polled every `interval` seconds.

    An outline whose URL is already watched (compared canonically: scheme, `www.`, tracking
    parameters) is skipped; a name already taken gets " (2)", " (3)" ...; an invalid URL or
    name is skipped with the reason.
    """
    plan = ImportPlan()
    names = {feed.name for feed in existing}
    urls = {_same(feed.url) for feed in existing}
    for outline in outlines:
        if _same(outline.url) in urls:
            plan.skipped.append((outline, "already watched"))
            continue
        name = _free_name(outline.title[:90], names)
        try:
            feed = FeedConfig(name=name, url=outline.url, interval=interval)
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(part) for part in problem["loc"])
            message = str(problem["msg"]).removeprefix("Value error, ")
            plan.skipped.append((outline, f"{where}: {message}"))
            continue
        names.add(name)
        urls.add(_same(outline.url))
        plan.added.append(feed)
    return plan


def _same(url: str) -> str:
    try:
        return canonical_url(url)
    except ValueError:
        return url


def _free_name(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    number = 2
    while f"{name} ({number})" in taken:
        number += 1
    return f"{name} ({number})"
