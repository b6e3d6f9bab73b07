"""Where each query term occurs in an article: one Aho-Corasick pass over the folded words.

Every word pattern of every topic is a key of one automaton, encoded with the word boundaries
it needs (" word " exact, " word" prefix, "word " compound tail, "word" inside a word), so one
pass finds every hit. The automaton is ahocorasick_rs's, on UTF-8 bytes: a pattern and the text
are valid UTF-8, so a byte match is a character match. Word positions are worked out only for
the hits asked for, and each term's occurrences at most once per article.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ahocorasick_rs import BytesAhoCorasick, Implementation

from monitor.budget import Budget
from monitor.document import Document
from monitor.query import Node, Term, Word


@dataclass(frozen=True, slots=True)
class TermInfo:
    words: tuple[int, ...]  # word-pattern ids, in phrase order
    joined: int | None  # the closed-compound pattern of a phrase
    field: str


@dataclass(frozen=True, slots=True)
class Key:
    word_ids: frozenset[int]  # the word patterns that share this automaton key


@dataclass(frozen=True, slots=True)
class Shortcut:
    """An OR's terms of one word in any field, by their word pattern, and its other children.

    Such a term occurs exactly where its word has a hit, so which of them occur is one set
    intersection with the words found rather than an evaluation per term.
    """

    words: dict[int, tuple[Term, ...]]
    others: tuple[Node, ...]


class Hits:
    """Where the automaton found the pattern keys asked for, as word indexes."""

    def __init__(
        self, doc: Document, found: Iterable[tuple[int, int, int]], keys: Sequence[Key]
    ) -> None:
        """`found` holds (key, start, end) in text order (`scan`)."""
        joined = doc.joined
        self.indexes: dict[int, list[int]] = {}
        spaces, counted = 0, 0
        for key, _, end in found:
            # The word a hit ends in is the number of spaces before its last byte, less the
            # leading one.
            spaces += joined.count(b" ", counted, end - 1)
            counted = end - 1
            indexes = self.indexes.get(key)
            if indexes is None:
                self.indexes[key] = [spaces - 1]
            else:
                indexes.append(spaces - 1)
        self._keys_of: dict[int, list[int]] = {}
        for key in self.indexes:
            for word_id in keys[key].word_ids:
                self._keys_of.setdefault(word_id, []).append(key)
        self.words = self._keys_of.keys()  # the word patterns found
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


class Context:
    """Term occurrences in one document, computed at most once per term; the work budget."""

    def __init__(
        self,
        doc: Document | None,
        hits: Hits | None,
        infos: dict[int, TermInfo],
        budget: Budget | None = None,
        shortcuts: Mapping[int, Shortcut] | None = None,
    ):
        """`infos` are by the id of each term, `shortcuts` by the id of each OR that has one."""
        self.doc = doc
        self.hits = hits
        self.infos = infos
        self.budget = budget
        self.shortcuts = shortcuts or {}
        self._cache: dict[int, frozenset[int]] = {}

    def possible(self, by_word: Mapping[int, Iterable[int]]) -> list[int]:
        """Return, in order, the numbers of the terms that may occur: those `by_word` files
        under a word pattern found (each term under the words it cannot occur without one of)."""
        if self.hits is None:
            return []
        found = self.hits.words & by_word.keys()
        return sorted({number for word_id in found for number in by_word[word_id]})

    def occurring(self, shortcut: Shortcut) -> list[Term]:
        """Return the shortcut's terms of one word that occur, in no particular order."""
        if self.hits is None:
            return []
        found = self.hits.words & shortcut.words.keys()
        return [term for word_id in found for term in shortcut.words[word_id]]

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

    def _find(self, info: TermInfo) -> frozenset[int]:
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


def _key(word: Word) -> str:
    if word.mode == "exact":
        return f" {word.text} "
    if word.mode == "prefix":
        return f" {word.text}"
    if word.mode == "suffix":
        return f"{word.text} "
    return word.text


def build_automaton(ids: dict[Word, int]) -> tuple[BytesAhoCorasick, list[Key]]:
    grouped: dict[str, list[int]] = {}
    for word, word_id in ids.items():
        grouped.setdefault(_key(word), []).append(word_id)
    patterns = [text.encode("utf-8", "surrogatepass") for text in grouped]
    # The contiguous NFA: under a tenth of pyahocorasick's memory for 30,000 patterns, and on a
    # 5,000-word article with the cache cold (as between articles) quicker than the DFA.
    automaton = BytesAhoCorasick(patterns, implementation=Implementation.ContiguousNFA)
    return automaton, [Key(frozenset(word_ids)) for word_ids in grouped.values()]


def scan(automaton: BytesAhoCorasick, doc: Document) -> list[tuple[int, int, int]]:
    """Return every (key, start, end) the automaton finds in the document, in text order."""
    return automaton.find_matches_as_indexes(doc.joined, overlapping=True)


def joined_word(term: Term) -> Word | None:
    """`Nordkorea-Truppen` also matches the closed compound `Nordkoreatruppen`."""
    if len(term.words) < 2 or any(w.mode != "exact" for w in term.words[:-1]):
        return None
    return Word("".join(w.text for w in term.words), term.words[-1].mode)
