"""Match an article against compiled topics: which topics, which terms, and the best snippet."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.models import Article, Match, Span
from monitor.query import And, Node, Not, Term, fold

SNIPPET_MAX_CHARS = 360
_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")


@dataclass(frozen=True, slots=True)
class Topic:
    """A watch topic ready for matching."""

    name: str
    query: Node
    chats: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Document:
    text: str
    words: tuple[str, ...]  # folded
    spans: tuple[Span, ...]  # where each word stands in `text`

    @classmethod
    def of(cls, text: str) -> _Document:
        found = list(_WORD.finditer(text))
        return cls(
            text,
            tuple(fold(m.group()) for m in found),
            tuple(Span(m.start(), m.end()) for m in found),
        )


def article_text(article: Article) -> str:
    """Return the text an article is matched on: its title, then its body."""
    return f"{article.entry.title}\n{article.text}"


def match_topics(article: Article, topics: Sequence[Topic]) -> list[Match]:
    """Return one `Match` per topic the article matches, in topic order."""
    doc = _Document.of(article_text(article))
    matches = []
    for topic in topics:
        hits = _evaluate(topic.query, doc)
        if hits is not None:
            matches.append(_match(topic.name, doc, hits))
    return matches


def _evaluate(node: Node, doc: _Document) -> set[int] | None:
    """Return the word indexes that make `node` true (possibly empty), or None if it is false."""
    if isinstance(node, Term):
        hits = _find(node, doc)
        return hits or None
    if isinstance(node, Not):
        return set() if _evaluate(node.child, doc) is None else None
    if isinstance(node, And):
        union: set[int] = set()
        for child in node.children:
            child_hits = _evaluate(child, doc)
            if child_hits is None:
                return None
            union |= child_hits
        return union
    any_hits: set[int] | None = None
    for child in node.children:
        child_hits = _evaluate(child, doc)
        if child_hits is not None:
            any_hits = (any_hits or set()) | child_hits
    return any_hits


def _find(term: Term, doc: _Document) -> set[int]:
    """Return the indexes of every word covered by an occurrence of `term`."""
    hits: set[int] = set()
    size = len(term.words)
    for start in range(len(doc.words) - size + 1):
        if all(
            _word_matches(doc.words[start + i], term.words[i], term.prefix[i]) for i in range(size)
        ):
            hits.update(range(start, start + size))
    return hits


def _word_matches(word: str, pattern: str, prefix: bool) -> bool:
    return word.startswith(pattern) if prefix else word == pattern


def _match(topic: str, doc: _Document, hits: set[int]) -> Match:
    terms = tuple(
        dict.fromkeys(doc.text[doc.spans[i].start : doc.spans[i].end] for i in sorted(hits))
    )
    snippet, highlights = _snippet(doc, hits)
    return Match(topic=topic, terms=terms, snippet=snippet, highlights=highlights)


def _snippet(doc: _Document, hits: set[int]) -> tuple[str, tuple[Span, ...]]:
    """Pick the sentence holding the most hits (body before title) and mark the hits in it."""
    title_end = doc.text.find("\n")
    best: tuple[int, int, int] | None = None  # (score, start, end)
    for start, end in _sentences(doc.text):
        inside = sum(1 for i in hits if start <= doc.spans[i].start < end)
        score = inside * 2 + int(start > title_end)
        if inside and (best is None or score > best[0]):
            best = (score, start, end)
    if best is None:
        return doc.text[:SNIPPET_MAX_CHARS].strip(), ()
    _, start, end = best
    start, end = _window(doc, hits, start, end)
    spans = tuple(
        Span(doc.spans[i].start - start, doc.spans[i].end - start)
        for i in sorted(hits)
        if start <= doc.spans[i].start and doc.spans[i].end <= end
    )
    return doc.text[start:end], spans


def _sentences(text: str) -> list[tuple[int, int]]:
    """Return the `(start, end)` of each sentence or line in `text`."""
    ranges = []
    start = 0
    for boundary in _SENTENCE_END.finditer(text):
        if boundary.start() > start:
            ranges.append((start, boundary.start()))
        start = boundary.end()
    if start < len(text):
        ranges.append((start, len(text)))
    return ranges


def _window(doc: _Document, hits: set[int], start: int, end: int) -> tuple[int, int]:
    """Shrink a long sentence to SNIPPET_MAX_CHARS around its first hit, at word boundaries."""
    if end - start <= SNIPPET_MAX_CHARS:
        return start, end
    first = min(doc.spans[i].start for i in hits if start <= doc.spans[i].start < end)
    lo = max(start, first - SNIPPET_MAX_CHARS // 3)
    hi = min(end, lo + SNIPPET_MAX_CHARS)
    words_in = [s for s in doc.spans if lo <= s.start and s.end <= hi]
    if words_in:
        lo, hi = words_in[0].start, words_in[-1].end
    return lo, hi
