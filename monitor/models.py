"""The vocabulary passed between stages: plain, frozen, picklable data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Entry:
    """One item of a feed, as the feed describes it."""

    feed: str
    guid: str | None
    link: str | None
    title: str
    summary: str
    published: datetime | None


@dataclass(frozen=True, slots=True)
class Article:
    """The text an entry is matched on.

    `from_page` is False when the page could not be fetched or extracted and the text is the
    feed's own title and summary instead.
    """

    entry: Entry
    text: str
    from_page: bool
    blocked_by: str | None = None  # e.g. "a paywall", when that is why the page gave no text


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open character range `[start, end)` in some text."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Match:
    """An article matched a topic.

    `terms` are the matched words as written; `positions` are where each matched word stands
    in the text matched on (the title, a newline, then the body); `highlights` are the matched
    words' spans inside `snippet`.
    """

    topic: str
    score: float
    terms: tuple[str, ...]
    snippet: str
    highlights: tuple[Span, ...] = field(default_factory=tuple)
    positions: tuple[Span, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Alert:
    """What one chat is told about one article."""

    chat: str
    chat_id: str
    title: str
    link: str | None
    outlet: str
    published: datetime | None
    topics: tuple[str, ...]
    snippet: str
    highlights: tuple[Span, ...]
    from_page: bool
    blocked_by: str | None = None
