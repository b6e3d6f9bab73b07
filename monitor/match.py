"""Match articles against all topics at once: which topics, score, terms, snippet, and why not.

Every word pattern of every topic goes into one Aho-Corasick automaton that runs over the
article's folded words, joined by spaces. A pattern is encoded with the word boundaries it needs
(" word " exact, " word" prefix, "word " compound tail, "word" inside a word), so one pass finds
every hit. A topic is evaluated only when each branch of its top-level AND has a hit, so the
cost grows with the article, not with the number of topics.

The work per article stays out of the interpreter where it can: the text is folded in whole-
text passes (`document.py`), the topics worth evaluating are picked in NumPy, and word positions
are worked out only for the hits those topics look at. tests/test_match_equivalence.py holds
the results to the matcher this replaced (tests/match_before.py).
"""

from __future__ import annotations

import bisect
import itertools
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING

import ahocorasick

from monitor.budget import Budget
from monitor.document import SEPARATOR, Document
from monitor.models import Article, Match, Span
from monitor.query import (
    And,
    Near,
    Node,
    Not,
    Or,
    Term,
    Word,
    term_text,
    terms,
    to_query,
)
from monitor.snippet import best_snippet

_KEY_OF_HIT = operator.itemgetter(1)  # of the automaton's (end, key)
if TYPE_CHECKING:
    import numpy
    import numpy.typing

    _Array = numpy.typing.NDArray[numpy.intp]


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


class _Hits:
    """Where the automaton found the pattern keys asked for, as word indexes."""

    def __init__(
        self, doc: Document, found: Iterable[tuple[int, int]], keys: Sequence[_Key]
    ) -> None:
        """`found` holds (end, key) in text order."""
        joined = doc.joined
        self.indexes: dict[int, list[int]] = {}
        spaces, counted = 0, 0
        for end, key in found:
            # The word a hit ends in is the number of spaces before it, less the leading one.
            spaces += joined.count(" ", counted, end)
            counted = end
            indexes = self.indexes.get(key)
            if indexes is None:
                self.indexes[key] = [spaces - 1]
            else:
                indexes.append(spaces - 1)
        self._keys_of: dict[int, list[int]] = {}
        for key in self.indexes:
            for word_id in keys[key].word_ids:
                self._keys_of.setdefault(word_id, []).append(key)
        self._positions: dict[int, list[int]] = {}

    def get(self, word_id: int, default: Iterable[int] = ()) -> Iterable[int]:
        """Return the word indexes where pattern `word_id` was found."""
        keys = self._keys_of.get(word_id)
        if keys is None:
            return default
        found = self._positions.get(word_id)
        if found is None:
            found = [index for key in keys for index in self.indexes[key]]
            self._positions[word_id] = found
        return found


@dataclass(frozen=True, slots=True)
class _Key:
    word_ids: frozenset[int]  # the word patterns that share this automaton key


class _Context:
    """Term occurrences in one document, computed at most once per term; the work budget."""

    def __init__(
        self,
        doc: Document | None,
        hits: _Hits | None,
        infos: dict[int, _TermInfo],
        budget: Budget | None = None,
    ):
        self.doc = doc
        self.hits = hits
        self.infos = infos
        self.budget = budget
        self._cache: dict[int, frozenset[int]] = {}

    def spend(self, steps: int) -> None:
        """Count evaluation work; raise `OverBudget` when the budget is spent."""
        if self.budget is not None:
            self.budget.spend(steps)

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
        if len(info.words) == 1:
            covered.update(first)
        elif first:
            rest = [set(hits.get(w)) for w in info.words[1:]]
            size = len(info.words)
            for start in first:
                if all(start + i + 1 in positions for i, positions in enumerate(rest)):
                    covered.update(range(start, start + size))
        if info.joined is not None:
            covered.update(hits.get(info.joined))
        if not covered or info.field == "any":  # no hit ever lies on the title/body separator
            return frozenset(covered)
        return frozenset(i for i in covered if doc.in_field(i, info.field))


class _Prefilter:
    """Which topics the keys found make worth evaluating: those with a key found in every one
    of their required groups (a topic with none, such as a bare NOT, always is)."""

    def __init__(self, required: Sequence[tuple[frozenset[int], ...]], keys: Sequence[_Key]):
        groups_of: dict[int, list[int]] = {}  # word id -> the groups it is in
        self._starts: list[int] = []  # each topic's first group; its groups follow it
        self._always: list[int] = []
        self._counted: list[int] = []  # the topics with groups, in order
        group = 0
        for topic, needed in enumerate(required):
            if not needed:
                self._always.append(topic)
                continue
            self._counted.append(topic)
            self._starts.append(group)
            for word_ids in needed:
                for word_id in word_ids:
                    groups_of.setdefault(word_id, []).append(group)
                group += 1
        self._size = group
        # The groups of every key, one key after another: key k's are _groups[_ends[k]:_ends[k+1]]
        self._groups: list[int] = []
        self._ends: list[int] = [0]
        for key in keys:
            self._groups.extend(sorted({g for w in key.word_ids for g in groups_of.get(w, ())}))
            self._ends.append(len(self._groups))
        self._arrays: tuple[_Array, ...] | None = None

    def topics(self, found: set[int]) -> list[int]:
        """Return the topics to evaluate, in order, given the keys found."""
        # NumPy does the work, once per article, in a few passes over the keys' groups rather
        # than a Python loop over every topic; imported with the first article (50 ms).
        import numpy

        if self._arrays is None:
            self._arrays = tuple(
                numpy.array(values, numpy.intp)
                for values in (self._groups, self._ends, self._starts, self._counted)
            )
        groups, ends, starts, counted = self._arrays
        keys = numpy.fromiter(found, numpy.intp, len(found))
        firsts, counts = ends[keys], ends[keys + 1] - ends[keys]
        present = numpy.zeros(self._size, numpy.bool_)
        total = int(counts.sum())
        if total:
            # The groups of all found keys at once: each key's run, placed one after another.
            shifts = numpy.repeat(firsts - (numpy.cumsum(counts) - counts), counts)
            present[groups[shifts + numpy.arange(total)]] = True
        chosen: list[int] = []
        if len(starts):
            chosen = counted[numpy.logical_and.reduceat(present, starts)].tolist()
        return sorted(chosen + self._always)


class Matcher:
    """All topics compiled together; `match` returns matches, `explain` says why for each."""

    def __init__(self, topics: Sequence[Topic]) -> None:
        self._word_ids: dict[Word, int] = {}
        self._infos: dict[int, _TermInfo] = {}
        self._interned: dict[Term, Term] = {}
        self._compiled = [self._compile(topic) for topic in topics]
        self.topics = tuple(c.topic for c in self._compiled)
        self._automaton, self._keys = _build_automaton(self._word_ids)
        self._prefilter = _Prefilter([c.required for c in self._compiled], self._keys)
        # The keys whose hits evaluating a topic looks at: every word of every term in it.
        key_of = {word_id: key for key, k in enumerate(self._keys) for word_id in k.word_ids}
        self._topic_keys = [
            frozenset(
                key_of[word_id] for term in _all_terms(c.topic) for word_id in self._ids(term)
            )
            for c in self._compiled
        ]

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

    def _ids(self, term: Term) -> tuple[int, ...]:
        info = self._infos[id(term)]
        return info.words if info.joined is None else (*info.words, info.joined)

    def _required(self, node: Node) -> list[set[int]]:
        """Return groups of word ids such that a match needs a hit in every group.

        A branch that holds has a term that occurs, and a term occurs only where all its
        words do: one word per term suffices, its longest (least likely to be found), or the
        closed compound of a phrase.
        """
        branches = node.children if isinstance(node, And) else (node,)
        groups = []
        for branch in branches:
            if _has_not(branch):
                continue  # a NOT can be satisfied by absence; no hit is needed
            group: set[int] = set()
            for term in terms(branch):
                info = self._infos[id(term)]
                longest = max(range(len(term.words)), key=lambda i: len(term.words[i].text))
                group.add(info.words[longest])
                if info.joined is not None:
                    group.add(info.joined)
            groups.append(group)
        return groups

    def match(self, article: Article, budget: Budget | None = None) -> list[Match]:
        """Return one `Match` per topic the article matches, in topic order.

        With a `budget`, evaluation raises `OverBudget` once it is spent (a query that is
        costly on this article, the time is up, or the work is to stop).
        """
        doc = Document(article)
        found = self._scan(doc)
        chosen = self._prefilter.topics({key for _, key in found})
        if not chosen:
            return []
        wanted = frozenset().union(*(self._topic_keys[i] for i in chosen))
        relevant = itertools.compress(found, map(wanted.__contains__, map(_KEY_OF_HIT, found)))
        ctx = _Context(doc, _Hits(doc, relevant, self._keys), self._infos, budget)
        matches = []
        for index in chosen:
            compiled = self._compiled[index]
            if not _holds(compiled.topic.query, ctx):
                continue  # most candidates: found without positions, with a shortcut
            verdict = self._judge(compiled, doc, ctx, explain=False)
            if verdict.match is not None:
                matches.append(verdict.match)
        return matches

    def explain(self, article: Article, names: Iterable[str] | None = None) -> list[Verdict]:
        """Return a verdict with its reason for every topic (or only the named ones)."""
        wanted = set(names) if names is not None else None
        doc = Document(article)
        ctx = _Context(doc, _Hits(doc, self._scan(doc), self._keys), self._infos)
        return [
            self._judge(compiled, doc, ctx, explain=True)
            for compiled in self._compiled
            if wanted is None or compiled.topic.name in wanted
        ]

    def _scan(self, doc: Document) -> list[tuple[int, int]]:
        """Return every (end, key) the automaton finds in the document, in text order."""
        return list(self._automaton.iter(doc.joined))

    def _judge(
        self, compiled: _Compiled, doc: Document, ctx: _Context, *, explain: bool
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
        keys.append(_Key(frozenset(word_ids)))
    if not keys:
        automaton.add_word(SEPARATOR * 3, 0)  # an empty automaton cannot be built
        keys.append(_Key(frozenset()))
    automaton.make_automaton()
    return automaton, keys


def _joined(term: Term) -> Word | None:
    """`Nordkorea-Truppen` also matches the closed compound `Nordkoreatruppen`."""
    if len(term.words) < 2 or any(w.mode != "exact" for w in term.words[:-1]):
        return None
    return Word("".join(w.text for w in term.words), term.words[-1].mode)


def _all_terms(topic: Topic) -> list[Term]:
    return terms(topic.query) + (terms(topic.exclude) if topic.exclude is not None else [])


def _has_not(node: Node) -> bool:
    if isinstance(node, Not):
        return True
    if isinstance(node, Term):
        return False
    if isinstance(node, Near):
        return _has_not(node.left) or _has_not(node.right)
    return any(_has_not(child) for child in node.children)


def _holds(node: Node, ctx: _Context) -> bool:
    """Say whether `node` is true: `_evaluate(node, ctx) is not None`, but stopping early."""
    ctx.spend(1)
    if isinstance(node, Term):
        return bool(ctx.occurrences(node))
    if isinstance(node, Not):
        return not _holds(node.child, ctx)
    if isinstance(node, And):
        return all(_holds(child, ctx) for child in node.children)
    if isinstance(node, Near):
        return _near(node, ctx) is not None
    return any(_holds(child, ctx) for child in node.children)


def _evaluate(node: Node, ctx: _Context) -> set[int] | None:
    """Return the word indexes that make `node` true (possibly none), or None if it is false."""
    ctx.spend(1)
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
        if child_hits is None:
            continue
        if any_hits is None:
            any_hits = child_hits  # a fresh set from the child: ours to extend
        else:
            any_hits |= child_hits
    return any_hits


def _near(node: Near, ctx: _Context) -> set[int] | None:
    """Return the words of either side that have a word of the other side within reach.

    Sorted positions and binary search: (left + right) log(right) steps, not left x right
    (a chain of NEARs over common prefixes made that minutes per article).
    """
    left = _evaluate(node.left, ctx)
    if not left or ctx.doc is None:
        return None
    right = _evaluate(node.right, ctx)
    if not right:
        return None
    ctx.spend(len(left) + len(right))
    position = ctx.doc.position
    reach = node.distance + 1
    close = _within(left, sorted(map(position, right)), position, reach)
    if not close:
        return None
    return close | _within(right, sorted(map(position, left)), position, reach)


def _within(
    indexes: Iterable[int], others: list[int], position: Callable[[int], int], reach: int
) -> set[int]:
    """Return the indexes whose position lies within `reach` of one of `others` (sorted)."""
    found = set()
    for index in indexes:
        at = position(index)
        nearest = bisect.bisect_left(others, at - reach)
        if nearest < len(others) and others[nearest] <= at + reach:
            found.add(index)
    return found


def _scored_terms(node: Node) -> list[Term]:
    """Return the terms that count towards the score: all but those under NOT."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return []
    if isinstance(node, Near):
        return _scored_terms(node.left) + _scored_terms(node.right)
    return [t for child in node.children for t in _scored_terms(child)]


def _surface(doc: Document, ctx: _Context, found_terms: Iterable[Term]) -> tuple[str, ...]:
    """Return the words of the article that the terms matched, as written, first seen first."""
    indexes = sorted({i for term in found_terms for i in ctx.occurrences(term)})
    return tuple(dict.fromkeys(doc.full[slice(*doc.span(i))] for i in indexes))


def _why_not(node: Node, ctx: _Context) -> str:
    """Name the clause that made `node` false."""
    if isinstance(node, Term):
        where = {
            "any": "",
            "title": " in the title",
            "text": " in the text",
            "lead": " in the title or lead",
        }[node.field]
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
