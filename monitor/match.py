"""Match articles against all topics at once: which topics, score, terms, snippet, and why not.

Every word pattern of every topic goes into one Aho-Corasick automaton that runs over the
article's folded words, joined by spaces. A pattern is encoded with the word boundaries it needs
(" word " exact, " word" prefix, "word " compound tail, "word" inside a word), so one pass finds
every hit. A topic is evaluated only when each branch of its top-level AND has a hit, so the
cost grows with the article, not with the number of topics.

The work per article stays out of the interpreter where it can: the text is folded in whole-
text passes (`document.py`), the topics worth evaluating and the hits they look at are picked
in NumPy (`prefilter.py`), and word positions are worked out only for those hits.
tests/test_match_equivalence.py holds the results to the matcher this replaced
(tests/match_before.py). The scan and each term's occurrences are `occurrences.py`; a query
evaluated against them, `evaluate.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING

from monitor.budget import Budget
from monitor.document import Document
from monitor.evaluate import (
    covered,
    evaluate,
    has_not,
    holds,
    scored_terms,
    surface,
    why_not,
)
from monitor.models import Article, Match, Span
from monitor.occurrences import (
    Context,
    Hits,
    Key,
    Shortcut,
    TermInfo,
    build_automaton,
    joined_word,
    scan,
)
from monitor.prefilter import Prefilter
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
)
from monitor.snippet import Sentences, best_snippet

if TYPE_CHECKING:
    from ahocorasick_rs import BytesAhoCorasick


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
class _Compiled:
    topic: Topic
    required: tuple[frozenset[int], ...]  # each needs a hit before the topic is evaluated
    scored: tuple[Term, ...]  # distinct terms outside NOT
    # scored term numbers by word pattern: a term occurs only if its first word or its closed
    # compound has a hit
    scored_by_word: dict[int, tuple[int, ...]]


class _Compiler:
    """Compiles topics together: interns equal terms, numbers every word pattern, and builds
    the automaton, the prefilter and each OR's `Shortcut`."""

    def __init__(self) -> None:
        self._word_ids: dict[Word, int] = {}
        self._infos: dict[int, TermInfo] = {}
        self._interned: dict[Term, Term] = {}
        self._shortcuts: dict[int, Shortcut] = {}

    def compile(self, topics: Sequence[Topic]) -> _Index:
        compiled = tuple(self._compile(topic) for topic in topics)
        automaton, keys = build_automaton(self._word_ids)
        # The keys whose hits evaluating a topic looks at: every word of every term in it.
        key_of = {word_id: key for key, k in enumerate(keys) for word_id in k.word_ids}
        looked_at = [
            frozenset(
                key_of[word_id] for term in _all_terms(c.topic) for word_id in self._ids(term)
            )
            for c in compiled
        ]
        prefilter = Prefilter([c.required for c in compiled], keys, looked_at)
        return _Index(compiled, self._infos, self._shortcuts, automaton, keys, prefilter)

    def _compile(self, topic: Topic) -> _Compiled:
        query = self._intern(topic.query)
        exclude = self._intern(topic.exclude) if topic.exclude is not None else None
        interned = replace(topic, query=query, exclude=exclude)
        required = tuple(frozenset(w) for w in self._required(query))
        scored = tuple(dict.fromkeys(scored_terms(query)))
        by_word: dict[int, list[int]] = {}
        for number, term in enumerate(scored):
            info = self._infos[id(term)]
            for word_id in (info.words[0], info.joined):
                if word_id is not None:
                    by_word.setdefault(word_id, []).append(number)
        return _Compiled(interned, required, scored, {w: tuple(n) for w, n in by_word.items()})

    def _intern(self, node: Node) -> Node:
        """Rebuild `node` so equal terms are one object, registering each term's patterns."""
        if isinstance(node, Term):
            term = self._interned.setdefault(node, node)
            if id(term) not in self._infos:
                ids = tuple(self._word_id(w) for w in term.words)
                joined = joined_word(term)
                joined_id = self._word_id(joined) if joined is not None else None
                self._infos[id(term)] = TermInfo(ids, joined_id, term.field)
            return term
        if isinstance(node, Not):
            return Not(self._intern(node.child))
        if isinstance(node, Near):
            return Near(self._intern(node.left), self._intern(node.right), node.distance)
        children = tuple(self._intern(child) for child in node.children)
        if isinstance(node, And):
            return And(children)
        built = Or(children)
        shortcut = self._shortcut(children)
        if shortcut.words:  # by id: the node lives as long as the compiled topic holding it
            self._shortcuts[id(built)] = shortcut
        return built

    def _shortcut(self, children: tuple[Node, ...]) -> Shortcut:
        words: dict[int, list[Term]] = {}
        others = []
        for child in children:
            if isinstance(child, Term) and len(child.words) == 1 and child.field == "any":
                words.setdefault(self._infos[id(child)].words[0], []).append(child)
            else:
                others.append(child)
        return Shortcut({w: tuple(found) for w, found in words.items()}, tuple(others))

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
            if has_not(branch):
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


@dataclass(frozen=True, slots=True)
class _Index:
    """Topics compiled together (`_Compiler`), ready to match."""

    compiled: tuple[_Compiled, ...]
    infos: dict[int, TermInfo]  # by the id of each interned term
    shortcuts: dict[int, Shortcut]  # by the id of each OR that has one
    automaton: BytesAhoCorasick
    keys: Sequence[Key]
    prefilter: Prefilter


class Matcher:
    """All topics compiled together; `match` returns matches, `explain` says why for each.

    The topics are compiled when first needed (20 ms for the shipped ones): a poll round that
    brings nothing new, as most do, never needs them.
    """

    def __init__(self, topics: Sequence[Topic]) -> None:
        self._topics = tuple(topics)
        self._built: _Index | None = None

    def _index(self) -> _Index:
        # Built whole, then assigned once: a thread that builds it too just builds it again.
        if self._built is None:
            self._built = _Compiler().compile(self._topics)
        return self._built

    @property
    def topics(self) -> tuple[Topic, ...]:
        """The topics, as compiled (equal terms are one object)."""
        return tuple(c.topic for c in self._index().compiled)

    def match(self, article: Article, budget: Budget | None = None) -> list[Match]:
        """Return one `Match` per topic the article matches, in topic order.

        With a `budget`, evaluation raises `OverBudget` once it is spent (a query that is
        costly on this article, the time is up, or the work is to stop).
        """
        index = self._index()
        doc = Document(article)
        chosen, relevant = index.prefilter.choose(self._scan(doc))
        if not chosen:
            return []
        hits = Hits(doc, relevant, index.keys)
        ctx = Context(doc, hits, index.infos, budget, index.shortcuts)
        matches = []
        for number in chosen:
            compiled = index.compiled[number]
            if not holds(compiled.topic.query, ctx):
                continue  # most candidates: found without positions, with a shortcut
            verdict = self._judge(compiled, doc, ctx, explain=False)
            if verdict.match is not None:
                matches.append(verdict.match)
        return matches

    def explain(self, article: Article, names: Iterable[str] | None = None) -> list[Verdict]:
        """Return a verdict with its reason for every topic (or only the named ones)."""
        wanted = set(names) if names is not None else None
        index = self._index()
        doc = Document(article)
        hits = Hits(doc, self._scan(doc), index.keys)
        ctx = Context(doc, hits, index.infos, shortcuts=index.shortcuts)
        return [
            self._judge(compiled, doc, ctx, explain=True)
            for compiled in index.compiled
            if wanted is None or compiled.topic.name in wanted
        ]

    def _scan(self, doc: Document) -> list[tuple[int, int, int]]:
        """Return every (key, start, end) the automaton finds in the document, in text order."""
        return scan(self._index().automaton, doc)

    def _judge(self, compiled: _Compiled, doc: Document, ctx: Context, *, explain: bool) -> Verdict:
        topic = compiled.topic
        positions = evaluate(topic.query, ctx)
        if positions is None and not explain:
            return Verdict(topic.name, False, 0.0, (), "")
        possible = map(compiled.scored.__getitem__, ctx.possible(compiled.scored_by_word))
        found = [term for term in possible if ctx.occurrences(term)]
        score = sum(term.weight for term in found)
        where = covered(ctx, found)
        words = surface(doc, where)
        if positions is None:
            return Verdict(topic.name, False, score, words, why_not(topic.query, ctx))
        if topic.exclude is not None and evaluate(topic.exclude, ctx) is not None:
            excluded = ", ".join(surface(doc, covered(ctx, terms(topic.exclude))))
            return Verdict(topic.name, False, score, words, f"excluded by `exclude` ({excluded})")
        if score < topic.min_score:
            reason = f"score {score:g} is below min_score {topic.min_score:g}"
            return Verdict(topic.name, False, score, words, reason)
        lists = tuple(f"{term_text(t)} (@{t.origin})" for t in found if t.origin)
        snippet, marked = best_snippet(
            doc.full, len(doc.title), doc.span, positions, Sentences(doc.full).around
        )
        spans = tuple(Span(*doc.span(i)) for i in where)
        matched = Match(topic.name, score, words, snippet, marked, spans)
        reason = f"matched with score {score:g}"
        return Verdict(topic.name, True, score, words, reason, matched, lists)


def match_topics(article: Article, topics: Sequence[Topic]) -> list[Match]:
    """Match one article against topics compiled on the spot (tests and one-off use)."""
    return Matcher(topics).match(article)


def _all_terms(topic: Topic) -> list[Term]:
    return terms(topic.query) + (terms(topic.exclude) if topic.exclude is not None else [])
