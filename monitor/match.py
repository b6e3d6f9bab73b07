"""Match articles against all topics at once: which topics, score, terms, snippet, and why not.

Every word pattern of every topic goes into one Aho-Corasick automaton that runs over the
article's folded words, joined by spaces. A pattern is encoded with the word boundaries it needs
(" word " exact, " word" prefix, "word " compound tail, "word" inside a word), so one pass finds
every hit, and only topics with a hit are evaluated: the cost grows with the article, not with
the number of topics.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import ahocorasick

from monitor.models import Article, Match, Span
from monitor.query import And, Near, Node, Not, Term, Word, fold, term_text, terms, to_query

SNIPPET_MAX_CHARS = 360
# Title and body are one word sequence; this gap keeps NEAR from reaching across them.
_FIELD_GAP = 10_000
_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")
_SEPARATOR = "|"  # stands between title and body words; no pattern can contain it


@dataclass(frozen=True, slots=True)
class Topic:
    """A watch topic ready for matching."""

    name: str
    query: Node
    chats: tuple[str, ...]
    exclude: Node | None = None
    min_score: float = 0.0


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether one topic matched one article, and why (or why not)."""

    topic: str
    matched: bool
    score: float
    terms: tuple[str, ...]
    reason: str
    match: Match | None = None


@lru_cache(maxsize=200_000)
def _fold(word: str) -> str:
    return fold(word)


def _key(word: Word) -> str:
    if word.mode == "exact":
        return f" {word.text} "
    if word.mode == "prefix":
        return f" {word.text}"
    if word.mode == "suffix":
        return f"{word.text} "
    return word.text


class _Document:
    """An article as a sequence of folded words: title words, a separator, body words."""

    def __init__(self, article: Article) -> None:
        self.title = article.entry.title
        self.full = f"{self.title}\n{article.text}"
        title_words = [_fold(w) for w in _WORD.findall(self.title)]
        body_words = [_fold(w) for w in _WORD.findall(article.text)]
        self.title_count = len(title_words)
        self.words = [*title_words, _SEPARATOR, *body_words]
        self.joined = " " + " ".join(self.words) + " "
        self.starts = list(itertools.accumulate((len(w) + 1 for w in self.words), initial=1))
        self._spans: list[Span] | None = None

    def index_at(self, char: int) -> int:
        """Return the index of the word that covers character `char` of `joined`."""
        return bisect.bisect_right(self.starts, char) - 1

    def in_field(self, index: int, where: str) -> bool:
        """Say whether the word at `index` lies in the title, the body, or either."""
        if where == "title":
            return index < self.title_count
        if where == "text":
            return index > self.title_count
        return index != self.title_count

    def position(self, index: int) -> int:
        """Return the index as a coordinate for NEAR, with title and body far apart."""
        return index if index < self.title_count else index + _FIELD_GAP

    def spans(self) -> list[Span]:
        """Return where each word (by sequence index) stands in `full`; computed on demand."""
        if self._spans is None:
            found = [Span(m.start(), m.end()) for m in _WORD.finditer(self.full)]
            boundary = Span(len(self.title), len(self.title))
            self._spans = [*found[: self.title_count], boundary, *found[self.title_count :]]
        return self._spans


class _Context:
    """Term occurrences in one document, computed once per term."""

    def __init__(self, doc: _Document | None, hits: dict[int, list[int]], ids: dict[Word, int]):
        self.doc = doc
        self.hits = hits
        self.ids = ids
        self._cache: dict[Term, frozenset[int]] = {}

    def occurrences(self, term: Term) -> frozenset[int]:
        """Return the word indexes covered by every occurrence of `term` in its field."""
        cached = self._cache.get(term)
        if cached is None:
            cached = self._cache[term] = frozenset(self._find(term))
        return cached

    def _positions(self, word: Word) -> list[int]:
        word_id = self.ids.get(word)
        return self.hits.get(word_id, []) if word_id is not None else []

    def _find(self, term: Term) -> set[int]:
        if self.doc is None:
            return set()
        first = self._positions(term.words[0])
        rest = [set(self._positions(w)) for w in term.words[1:]]
        covered: set[int] = set()
        for start in first:
            if all(start + i + 1 in positions for i, positions in enumerate(rest)):
                covered.update(range(start, start + len(term.words)))
        joined = _joined(term)
        if joined is not None:
            covered.update(self._positions(joined))
        doc = self.doc
        return {i for i in covered if doc.in_field(i, term.field)}


class Matcher:
    """All topics compiled together; `match` returns matches, `explain` says why for each."""

    def __init__(self, topics: Sequence[Topic]) -> None:
        self.topics = tuple(topics)
        self._ids: dict[Word, int] = {}
        self._topics_of_word: dict[int, set[int]] = {}
        nothing = _Context(None, {}, {})
        # Topics that can match with no hit at all (a bare NOT) are always evaluated.
        self._always = [
            i for i, t in enumerate(self.topics) if _evaluate(t.query, nothing) is not None
        ]
        for index, topic in enumerate(self.topics):
            nodes = [topic.query] if topic.exclude is None else [topic.query, topic.exclude]
            for term in (t for node in nodes for t in terms(node)):
                for word in _patterns(term):
                    word_id = self._ids.setdefault(word, len(self._ids))
                    self._topics_of_word.setdefault(word_id, set()).add(index)
        self._automaton = _build_automaton(self._ids)

    def match(self, article: Article) -> list[Match]:
        """Return one `Match` per topic the article matches, in topic order."""
        doc = _Document(article)
        hits = self._scan(doc)
        candidates = {t for w in hits for t in self._topics_of_word[w]}.union(self._always)
        found = []
        for index in sorted(candidates):
            verdict = self._judge(self.topics[index], doc, hits, explain=False)
            if verdict.match is not None:
                found.append(verdict.match)
        return found

    def explain(self, article: Article, names: Iterable[str] | None = None) -> list[Verdict]:
        """Return a verdict with its reason for every topic (or only the named ones)."""
        wanted = set(names) if names is not None else None
        doc = _Document(article)
        hits = self._scan(doc)
        return [
            self._judge(topic, doc, hits, explain=True)
            for topic in self.topics
            if wanted is None or topic.name in wanted
        ]

    def _scan(self, doc: _Document) -> dict[int, list[int]]:
        hits: dict[int, list[int]] = {}
        for end, (trailing_space, ids) in self._automaton.iter(doc.joined):
            index = doc.index_at(end - 1 if trailing_space else end)
            for word_id in ids:
                hits.setdefault(word_id, []).append(index)
        return hits

    def _judge(
        self, topic: Topic, doc: _Document, hits: dict[int, list[int]], *, explain: bool
    ) -> Verdict:
        ctx = _Context(doc, hits, self._ids)
        positions = _evaluate(topic.query, ctx)
        positive = _positive_terms(topic.query)
        score = sum(term.weight for term in positive if ctx.occurrences(term))
        words = _surface(doc, ctx, positive)
        if positions is None:
            reason = _why_not(topic.query, ctx) if explain else ""
            return Verdict(topic.name, False, score, words, reason)
        if topic.exclude is not None and _evaluate(topic.exclude, ctx) is not None:
            excluded = ", ".join(_surface(doc, ctx, terms(topic.exclude)))
            return Verdict(topic.name, False, score, words, f"excluded by `exclude` ({excluded})")
        if score < topic.min_score:
            reason = f"score {score:g} is below min_score {topic.min_score:g}"
            return Verdict(topic.name, False, score, words, reason)
        snippet, highlights = _snippet(doc, positions)
        found = Match(topic.name, score, words, snippet, highlights)
        return Verdict(topic.name, True, score, words, f"matched with score {score:g}", found)


def mark_snippet(
    snippet: str,
    highlights: Iterable[Span],
    before: str,
    after: str,
    escape: Callable[[str], str] = str,
) -> str:
    """Return `snippet` with `before`/`after` around each highlight and the rest escaped."""
    parts, position = [], 0
    for span in sorted(highlights, key=lambda s: s.start):
        if span.start < position or span.end > len(snippet):
            continue
        parts += [escape(snippet[position : span.start]), before]
        parts += [escape(snippet[span.start : span.end]), after]
        position = span.end
    return "".join([*parts, escape(snippet[position:])])


def match_topics(article: Article, topics: Sequence[Topic]) -> list[Match]:
    """Match one article against topics compiled on the spot (tests and one-off use)."""
    return Matcher(topics).match(article)


def _build_automaton(ids: dict[Word, int]) -> ahocorasick.Automaton:
    keys: dict[str, list[int]] = {}
    for word, word_id in ids.items():
        keys.setdefault(_key(word), []).append(word_id)
    automaton = ahocorasick.Automaton()
    for key, word_ids in keys.items():
        automaton.add_word(key, (key.endswith(" "), tuple(word_ids)))
    if not keys:
        automaton.add_word(_SEPARATOR * 3, (False, ()))  # an empty automaton cannot be built
    automaton.make_automaton()
    return automaton


def _patterns(term: Term) -> list[Word]:
    """Return the word patterns a term needs: its words, plus the closed compound of a phrase."""
    joined = _joined(term)
    return [*term.words, joined] if joined is not None else list(term.words)


def _joined(term: Term) -> Word | None:
    """`Nordkorea-Truppen` also matches the closed compound `Nordkoreatruppen`."""
    if len(term.words) < 2 or any(w.mode != "exact" for w in term.words[:-1]):
        return None
    return Word("".join(w.text for w in term.words), term.words[-1].mode)


def _evaluate(node: Node, ctx: _Context) -> set[int] | None:
    """Return the word indexes that make `node` true (possibly none), or None if it is false."""
    if isinstance(node, Term):
        found = ctx.occurrences(node)
        return set(found) if found else None
    if isinstance(node, Not):
        return set() if _evaluate(node.child, ctx) is None else None
    if isinstance(node, And):
        union: set[int] = set()
        for child in node.children:
            child_hits = _evaluate(child, ctx)
            if child_hits is None:
                return None
            union |= child_hits
        return union
    if isinstance(node, Near):
        return _near(node, ctx)
    any_hits: set[int] | None = None
    for child in node.children:
        child_hits = _evaluate(child, ctx)
        if child_hits is not None:
            any_hits = (any_hits or set()) | child_hits
    return any_hits


def _near(node: Near, ctx: _Context) -> set[int] | None:
    left, right = _evaluate(node.left, ctx), _evaluate(node.right, ctx)
    if not left or not right or ctx.doc is None:
        return None
    doc = ctx.doc
    close = {
        (a, b)
        for a in left
        for b in right
        if abs(doc.position(a) - doc.position(b)) <= node.distance + 1
    }
    if not close:
        return None
    return {i for pair in close for i in pair}


def _positive_terms(node: Node) -> list[Term]:
    """Return the distinct terms that count towards the score: all but those under NOT."""
    return list(dict.fromkeys(_scored_terms(node)))


def _scored_terms(node: Node) -> list[Term]:
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return []
    if isinstance(node, Near):
        return _scored_terms(node.left) + _scored_terms(node.right)
    return [t for child in node.children for t in _scored_terms(child)]


def _surface(doc: _Document, ctx: _Context, found_terms: Iterable[Term]) -> tuple[str, ...]:
    """Return the words of the article that the terms matched, as written, first seen first."""
    indexes = sorted({i for term in found_terms for i in ctx.occurrences(term)})
    spans = doc.spans()
    return tuple(dict.fromkeys(doc.full[spans[i].start : spans[i].end] for i in indexes))


def _why_not(node: Node, ctx: _Context) -> str:
    """Name the clause that made `node` false."""
    if isinstance(node, Term):
        where = {"any": "", "title": " in the title", "text": " in the text"}[node.field]
        return f"no {term_text(node)}{where}"
    if isinstance(node, Not):
        return f"excluded by NOT {_short(to_query(node.child))}"
    if isinstance(node, Near):
        for side in (node.left, node.right):
            if _evaluate(side, ctx) is None:
                return _why_not(side, ctx)
        return (
            f"{_short(to_query(node.left))} and {_short(to_query(node.right))} "
            f"never within {node.distance} words"
        )
    if isinstance(node, And):
        failed = next(child for child in node.children if _evaluate(child, ctx) is None)
        return _why_not(failed, ctx)
    return f"none of {_short(to_query(node))}"


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _snippet(doc: _Document, hits: set[int]) -> tuple[str, tuple[Span, ...]]:
    """Pick the sentence holding the most hits (body before title) and mark the hits in it."""
    spans = doc.spans()
    starts = sorted(spans[i].start for i in hits)
    title_end = len(doc.title)
    best: tuple[int, int, int] | None = None  # (score, start, end)
    for start, end in _sentences(doc.full):
        inside = bisect.bisect_left(starts, end) - bisect.bisect_left(starts, start)
        score = inside * 2 + int(start > title_end)
        if inside and (best is None or score > best[0]):
            best = (score, start, end)
    if best is None:
        return doc.full[:SNIPPET_MAX_CHARS].strip(), ()
    _, start, end = best
    start, end = _window(spans, starts, start, end)
    marked = tuple(
        Span(spans[i].start - start, spans[i].end - start)
        for i in sorted(hits)
        if start <= spans[i].start and spans[i].end <= end
    )
    return doc.full[start:end], marked


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


def _window(spans: list[Span], starts: list[int], start: int, end: int) -> tuple[int, int]:
    """Shrink a long sentence to SNIPPET_MAX_CHARS around its first hit, at word boundaries."""
    if end - start <= SNIPPET_MAX_CHARS:
        return start, end
    first = starts[bisect.bisect_left(starts, start)]
    lo = max(start, first - SNIPPET_MAX_CHARS // 3)
    hi = min(end, lo + SNIPPET_MAX_CHARS)
    inside = [s for s in spans if lo <= s.start and s.end <= hi and s.end > s.start]
    return (inside[0].start, inside[-1].end) if inside else (lo, hi)
