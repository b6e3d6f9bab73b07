"""The matcher as it was before issue 18 (monitor/match.py at e62e0c9), kept unchanged as the
oracle the rewritten matcher is compared with (tests/test_match_equivalence.py, bench/match).

Original docstring: Match articles against all topics at once: which topics, score, terms,
snippet, and why not. Every word pattern of every topic goes into one Aho-Corasick automaton
that runs over the article's folded words, joined by spaces.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import lru_cache

import ahocorasick

from monitor.models import Article, Match, Span
from monitor.query import And, Near, Node, Not, Or, Term, Word, fold, term_text, terms, to_query
from monitor.snippet import best_snippet

# Title and body are one word sequence; this gap keeps NEAR from reaching across them.
_FIELD_GAP = 10_000
_WORD = re.compile(r"\w+")
_SPLIT = re.compile(r"(\w+)")
_SEPARATOR = "|"  # stands between title and body words; no pattern can contain it


@dataclass(frozen=True, slots=True)
class Topic:
    """A watch topic ready for matching."""

    name: str
    query: Node
    chats: tuple[str, ...]
    exclude: Node | None = None
    min_score: float = 0.0
    digest: timedelta | None = None  # collect its alerts into a digest this often


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether one topic matched one article, and why (or why not)."""

    topic: str
    matched: bool
    score: float
    terms: tuple[str, ...]
    reason: str
    match: Match | None = None
    from_lists: tuple[str, ...] = ()  # found query terms that came from a term list: "x (@list)"


@dataclass(frozen=True, slots=True)
class _TermInfo:
    words: tuple[int, ...]  # word-pattern ids, in phrase order
    joined: int | None  # the closed-compound pattern of a phrase
    field: str


@dataclass(frozen=True, slots=True)
class _Compiled:
    topic: Topic
    required: tuple[frozenset[int], ...]  # each needs a hit before the topic is evaluated
    scored: tuple[Term, ...]  # distinct terms outside NOT


@lru_cache(maxsize=200_000)
def _fold(word: str) -> str:
    return fold(word)


class _Document:
    """An article as a sequence of folded words: title words, a separator, body words."""

    def __init__(self, article: Article) -> None:
        self.title = article.entry.title
        self.full = f"{self.title}\n{article.text}"
        title_words = _WORD.findall(self.title)
        self.title_count = len(title_words)
        folded = list(map(_fold, title_words))
        folded.append(_SEPARATOR)
        folded.extend(map(_fold, _WORD.findall(article.text)))
        self.words = folded
        self.joined = " " + " ".join(folded) + " "
        self.starts = list(itertools.accumulate((len(w) + 1 for w in folded), initial=1))
        self._offsets: list[int] | None = None

    def index_at(self, char: int) -> int:
        """Return the index of the word that covers character `char` of `joined`."""
        return bisect.bisect_right(self.starts, char) - 1

    def in_field(self, index: int, where: str) -> bool:
        """Say whether the word at `index` lies in the title, the body, the lead, or either."""
        if where == "title":
            return index < self.title_count
        if where == "text":
            return index > self.title_count
        if where == "lead":  # the query language gained lead: after this matcher was kept
            return index != self.title_count and index <= self.title_count + 40
        return index != self.title_count

    def position(self, index: int) -> int:
        """Return the index as a coordinate for NEAR, with title and body far apart."""
        return index if index < self.title_count else index + _FIELD_GAP

    def span(self, index: int) -> tuple[int, int]:
        """Return where the word at sequence index `index` stands in `full`."""
        if index == self.title_count:
            return len(self.title), len(self.title)
        if self._offsets is None:
            # Only matched articles need offsets: one split keeps words and the gaps between.
            parts = _SPLIT.split(self.full)
            self._offsets = list(itertools.accumulate(map(len, parts), initial=0))
        word = index if index < self.title_count else index - 1
        return self._offsets[2 * word + 1], self._offsets[2 * word + 2]


class _Hits:
    """Where the automaton found each pattern key; word positions are worked out on demand."""

    def __init__(self, doc: _Document, found: list[tuple[int, int]], keys: list[_Key]) -> None:
        self.doc = doc
        self.keys = keys
        self.ends: dict[int, list[int]] = {}
        for end, key in found:
            ends = self.ends.get(key)
            if ends is None:
                self.ends[key] = [end]
            else:
                ends.append(end)
        self._keys_of: dict[int, list[int]] = {}
        for key in self.ends:
            for word_id in keys[key].word_ids:
                self._keys_of.setdefault(word_id, []).append(key)
        self.words = self._keys_of.keys()
        self._positions: dict[int, list[int]] = {}

    def get(self, word_id: int, default: Iterable[int] = ()) -> Iterable[int]:
        """Return the word indexes where pattern `word_id` was found."""
        if word_id not in self.words:
            return default
        found = self._positions.get(word_id)
        if found is None:
            found = []
            index_at = self.doc.index_at
            for key in self._keys_of[word_id]:
                shift = 1 if self.keys[key].trailing_space else 0
                found.extend(index_at(end - shift) for end in self.ends[key])
            self._positions[word_id] = found
        return found


@dataclass(frozen=True, slots=True)
class _Key:
    trailing_space: bool
    word_ids: frozenset[int]


class _Context:
    """Term occurrences in one document, computed at most once per term."""

    def __init__(self, doc: _Document | None, hits: _Hits | None, infos: dict[int, _TermInfo]):
        self.doc = doc
        self.hits = hits
        self.infos = infos
        self._cache: dict[int, frozenset[int]] = {}

    def occurrences(self, term: Term) -> frozenset[int]:
        """Return the word indexes covered by every occurrence of `term` in its field."""
        key = id(term)  # terms are interned by the Matcher, so identity is equality
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = self._find(self.infos[key])
        return cached

    def _find(self, info: _TermInfo) -> frozenset[int]:
        doc, hits = self.doc, self.hits
        if doc is None or hits is None:
            return frozenset()
        first = hits.get(info.words[0])
        covered: set[int] = set()
        if first:
            rest = [set(hits.get(w)) for w in info.words[1:]]
            size = len(info.words)
            for start in first:
                if all(start + i + 1 in positions for i, positions in enumerate(rest)):
                    covered.update(range(start, start + size))
        if info.joined is not None:
            covered.update(hits.get(info.joined))
        if not covered:
            return frozenset()
        return frozenset(i for i in covered if doc.in_field(i, info.field))


class Matcher:
    """All topics compiled together; `match` returns matches, `explain` says why for each."""

    def __init__(self, topics: Sequence[Topic]) -> None:
        self._word_ids: dict[Word, int] = {}
        self._infos: dict[int, _TermInfo] = {}
        self._interned: dict[Term, Term] = {}
        self._compiled = [self._compile(topic) for topic in topics]
        self.topics = tuple(c.topic for c in self._compiled)
        self._topics_of_word: dict[int, set[int]] = {}
        self._always: list[int] = []  # topics with no necessary hit (e.g. a bare NOT)
        for index, compiled in enumerate(self._compiled):
            if not compiled.required:
                self._always.append(index)
            for word_id in set().union(*compiled.required):
                self._topics_of_word.setdefault(word_id, set()).add(index)
        self._automaton, self._keys = _build_automaton(self._word_ids)

    def _compile(self, topic: Topic) -> _Compiled:
        query = self._intern(topic.query)
        exclude = self._intern(topic.exclude) if topic.exclude is not None else None
        interned = replace(topic, query=query, exclude=exclude)
        required = tuple(frozenset(w) for w in self._required(query))
        scored = tuple(dict.fromkeys(_scored_terms(query)))
        return _Compiled(interned, required, scored)

    def _intern(self, node: Node) -> Node:
        """Rebuild `node` so equal terms are one object, registering each term's patterns."""
        if isinstance(node, Term):
            term = self._interned.setdefault(node, node)
            if id(term) not in self._infos:
                ids = tuple(self._word_id(w) for w in term.words)
                joined = _joined(term)
                joined_id = self._word_id(joined) if joined is not None else None
                self._infos[id(term)] = _TermInfo(ids, joined_id, term.field)
            return term
        if isinstance(node, Not):
            return Not(self._intern(node.child))
        if isinstance(node, Near):
            return Near(self._intern(node.left), self._intern(node.right), node.distance)
        children = tuple(self._intern(child) for child in node.children)
        return And(children) if isinstance(node, And) else Or(children)

    def _word_id(self, word: Word) -> int:
        return self._word_ids.setdefault(word, len(self._word_ids))

    def _required(self, node: Node) -> list[set[int]]:
        """Return groups of word ids such that a match needs a hit in every group."""
        branches = node.children if isinstance(node, And) else (node,)
        groups = []
        for branch in branches:
            if _has_not(branch):
                continue  # a NOT can be satisfied by absence; no hit is needed
            group: set[int] = set()
            for term in terms(branch):
                info = self._infos[id(term)]
                group.update(info.words)
                if info.joined is not None:
                    group.add(info.joined)
            groups.append(group)
        return groups

    def match(self, article: Article) -> list[Match]:
        """Return one `Match` per topic the article matches, in topic order."""
        doc = _Document(article)
        hits = self._scan(doc)
        present = set(hits.words)
        candidates = {t for w in present for t in self._topics_of_word.get(w, ())}
        candidates.update(self._always)
        ctx = _Context(doc, hits, self._infos)
        found = []
        for index in sorted(candidates):
            compiled = self._compiled[index]
            if any(group.isdisjoint(present) for group in compiled.required):
                continue
            verdict = self._judge(compiled, doc, ctx, explain=False)
            if verdict.match is not None:
                found.append(verdict.match)
        return found

    def explain(self, article: Article, names: Iterable[str] | None = None) -> list[Verdict]:
        """Return a verdict with its reason for every topic (or only the named ones)."""
        wanted = set(names) if names is not None else None
        doc = _Document(article)
        ctx = _Context(doc, self._scan(doc), self._infos)
        return [
            self._judge(compiled, doc, ctx, explain=True)
            for compiled in self._compiled
            if wanted is None or compiled.topic.name in wanted
        ]

    def _scan(self, doc: _Document) -> _Hits:
        return _Hits(doc, list(self._automaton.iter(doc.joined)), self._keys)

    def _judge(
        self, compiled: _Compiled, doc: _Document, ctx: _Context, *, explain: bool
    ) -> Verdict:
        topic = compiled.topic
        positions = _evaluate(topic.query, ctx)
        if positions is None and not explain:
            return Verdict(topic.name, False, 0.0, (), "")
        score = sum(term.weight for term in compiled.scored if ctx.occurrences(term))
        words = _surface(doc, ctx, compiled.scored)
        if positions is None:
            return Verdict(topic.name, False, score, words, _why_not(topic.query, ctx))
        if topic.exclude is not None and _evaluate(topic.exclude, ctx) is not None:
            excluded = ", ".join(_surface(doc, ctx, terms(topic.exclude)))
            return Verdict(topic.name, False, score, words, f"excluded by `exclude` ({excluded})")
        if score < topic.min_score:
            reason = f"score {score:g} is below min_score {topic.min_score:g}"
            return Verdict(topic.name, False, score, words, reason)
        lists = tuple(
            f"{term_text(t)} (@{t.origin})"
            for t in compiled.scored
            if t.origin and ctx.occurrences(t)
        )
        snippet, marked = best_snippet(doc.full, len(doc.title), doc.span, positions)
        where = sorted({i for term in compiled.scored for i in ctx.occurrences(term)})
        spans = tuple(Span(*doc.span(i)) for i in where)
        found = Match(topic.name, score, words, snippet, marked, spans)
        reason = f"matched with score {score:g}"
        return Verdict(topic.name, True, score, words, reason, found, lists)


def match_topics(article: Article, topics: Sequence[Topic]) -> list[Match]:
    """Match one article against topics compiled on the spot (tests and one-off use)."""
    return Matcher(topics).match(article)


def _key(word: Word) -> str:
    if word.mode == "exact":
        return f" {word.text} "
    if word.mode == "prefix":
        return f" {word.text}"
    if word.mode == "suffix":
        return f"{word.text} "
    return word.text


def _build_automaton(ids: dict[Word, int]) -> tuple[ahocorasick.Automaton, list[_Key]]:
    grouped: dict[str, list[int]] = {}
    for word, word_id in ids.items():
        grouped.setdefault(_key(word), []).append(word_id)
    automaton = ahocorasick.Automaton()
    keys = []
    for index, (text, word_ids) in enumerate(grouped.items()):
        automaton.add_word(text, index)
        keys.append(_Key(text.endswith(" "), frozenset(word_ids)))
    if not keys:
        automaton.add_word(_SEPARATOR * 3, 0)  # an empty automaton cannot be built
        keys.append(_Key(False, frozenset()))
    automaton.make_automaton()
    return automaton, keys


def _joined(term: Term) -> Word | None:
    """`Nordkorea-Truppen` also matches the closed compound `Nordkoreatruppen`."""
    if len(term.words) < 2 or any(w.mode != "exact" for w in term.words[:-1]):
        return None
    return Word("".join(w.text for w in term.words), term.words[-1].mode)


def _has_not(node: Node) -> bool:
    if isinstance(node, Not):
        return True
    if isinstance(node, Term):
        return False
    if isinstance(node, Near):
        return _has_not(node.left) or _has_not(node.right)
    return any(_has_not(child) for child in node.children)


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


def _scored_terms(node: Node) -> list[Term]:
    """Return the terms that count towards the score: all but those under NOT."""
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
    return tuple(dict.fromkeys(doc.full[slice(*doc.span(i))] for i in indexes))


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
