"""Which topics an article's automaton hits make worth evaluating, and which of the hits those
topics look at.

NumPy does the work, once per article, in a few passes over arrays rather than a Python loop
over every topic or every hit; it is imported with the first article (50 ms).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import TYPE_CHECKING

from monitor.occurrences import Key

if TYPE_CHECKING:
    import numpy
    import numpy.typing

    _Array = numpy.typing.NDArray[numpy.intp]

_KEY_OF_HIT = operator.itemgetter(0)  # of the automaton's (key, start, end)


class Prefilter:
    """Chooses the topics with a key found in every one of their required groups (a topic
    with none, such as a bare NOT, always is), and the hits of the keys they look at."""

    def __init__(
        self,
        required: Sequence[tuple[frozenset[int], ...]],
        keys: Sequence[Key],
        looked_at: Sequence[frozenset[int]],
    ) -> None:
        """`required` holds each topic's groups of word ids, `keys` the automaton's keys, and
        `looked_at` the keys whose hits evaluating each topic looks at."""
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
        self._looked_at = tuple(sorted(k) for k in looked_at)
        self._arrays: tuple[_Array, ...] | None = None

    def choose(
        self, found: list[tuple[int, int, int]]
    ) -> tuple[list[int], list[tuple[int, int, int]]]:
        """Return the topics to evaluate, in order, and the hits they look at, in text order,
        given every (key, start, end) the automaton found."""
        import numpy

        keys = numpy.fromiter(map(_KEY_OF_HIT, found), numpy.intp, len(found))
        chosen = self._topics(keys)
        if not chosen:
            return chosen, []
        wanted = numpy.zeros(len(self._ends) - 1, numpy.bool_)
        for topic in chosen:
            wanted[self._looked_at[topic]] = True
        return chosen, list(map(found.__getitem__, numpy.flatnonzero(wanted[keys]).tolist()))

    def _topics(self, keys: _Array) -> list[int]:
        """Return the topics to evaluate, in order, given the keys found (repeats allowed)."""
        import numpy

        if self._arrays is None:
            self._arrays = tuple(
                numpy.array(values, numpy.intp)
                for values in (self._groups, self._ends, self._starts, self._counted)
            )
        groups, ends, starts, counted = self._arrays
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
