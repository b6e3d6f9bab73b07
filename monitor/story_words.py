"""The words of the story window: how often each term occurs, overall and in English.

The story rule (stories.py) weighs a term by its rarity among every article of the window,
alerted or not (inverse document frequency), and across languages asks whether a term is a
name both languages write alike or one language's own word. This module keeps those counts as
articles arrive and leave the window.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from monitor.specifics import Specifics

# A term found in at most this share of the window's articles is specific to an event.
SPECIFIC_SHARE = 0.04
# Pseudo-documents that contain none of the terms: with few articles seen (a fresh start) every
# term weighs about the same, and the weights only take shape as the window fills.
PRIOR_DOCUMENTS = 200
# A capitalised word seen in this many of the window's articles, all in one language, is that
# language's word (a German noun), not a name: across languages it is left out of the comparison.
LANGUAGE_BOUND = 2
# A figure found in at most this many of the window's articles (or this share) can contradict.
FIGURE_RARE = 4
FIGURE_SHARE = 0.005


@dataclass(slots=True)
class WordWindow:
    """Document frequencies of the window's terms, with their weights cached between changes."""

    _df: Counter[str] = field(default_factory=Counter)
    _english: Counter[str] = field(default_factory=Counter)  # document frequency in English
    _weights: dict[str, float] = field(default_factory=dict)  # IDF, valid until the next change
    _seen: deque[tuple[datetime, frozenset[str], bool]] = field(default_factory=deque)

    def observe(self, found: Specifics, at: datetime) -> None:
        """Count an article's terms."""
        self._weights.clear()
        terms = found.terms | found.extra
        english = found.lang == "en"
        self._df.update(terms)
        if english:
            self._english.update(terms)
        self._seen.append((at, terms, english))

    def expire(self, cutoff: datetime) -> None:
        """Forget the articles seen before `cutoff`."""
        self._weights.clear()
        while self._seen and self._seen[0][0] < cutoff:
            _, terms, english = self._seen.popleft()
            _forget(self._df, terms)
            if english:
                _forget(self._english, terms)

    def count(self, term: str) -> int:
        """In how many of the window's articles the term occurs."""
        return self._df[term]

    def idf(self, term: str) -> float:
        """The term's weight: the rarer in the window, the heavier."""
        weight = self._weights.get(term)
        if weight is None:
            documents = len(self._seen) + PRIOR_DOCUMENTS
            weight = self._weights[term] = math.log((documents + 1) / (self._df[term] + 1))
        return weight

    def specific(self, term: str) -> bool:
        """Whether a term is rare enough in the window to say something about one event."""
        return self._df[term] <= max(2.0, SPECIFIC_SHARE * len(self._seen))

    def rare_figures(self, figures: Iterable[str]) -> frozenset[str]:
        """The figures rare enough to contradict another report's (not the stock background)."""
        rare = max(FIGURE_RARE, FIGURE_SHARE * len(self._seen))
        return frozenset(f for f in figures if self._df[f] <= rare)

    def crossable(self, term: str, name: bool) -> bool:
        """Whether a term can occur in both languages: a concept, figure or date, a word the
        window has seen in English and in German (a name), or a word the article only ever
        capitalises (`name`) and the window has not seen elsewhere (a name the other language
        has not reported yet: it must count, or a report naming a new place would look
        contained in one that does not). A word the article writes in lower case is its
        language's own."""
        if term[0] in "=#@":
            return True
        seen = self._df[term]
        if 0 < self._english[term] < seen:
            return True
        return name and seen < LANGUAGE_BOUND


def _forget(counts: Counter[str], terms: Iterable[str]) -> None:
    """Take an expired article's terms off a document-frequency count."""
    for term in terms:
        counts[term] -= 1
        if counts[term] <= 0:
            del counts[term]
