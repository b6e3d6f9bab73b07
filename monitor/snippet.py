"""Choose the sentence that best shows why an article matched, and mark the matched words."""

from __future__ import annotations

import bisect
import re
from collections import deque
from collections.abc import Callable, Iterable

from monitor.models import Span

SNIPPET_MAX_CHARS = 360
# The sentences of at most this many hits (the first ones) are weighed: real reports have a few
# dozen, and a hostile page of 100,000 "Kim Kim ..." must not hold the event loop for seconds.
SNIPPET_HITS = 1000
_LOOK_BACK = 2000  # a sentence longer than this is cut at a word boundary
_NEAR = 400  # how far back a sentence start is looked for first
_NOT_SPACE = re.compile(r"\S")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")
# The same boundaries, found without trying a look-behind at every character: a match starts
# with the character a boundary follows or begins with, which the regex engine skips ahead to.
# One that starts with punctuation is the boundary after it.
_BOUNDARY = re.compile(r"[.!?…\n](?:(?<=\n)\n*|(?<=[.!?…])\s+)")


def sentences(text: str) -> list[tuple[int, int]]:
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


def best_snippet(
    text: str,
    title_end: int,
    span: Callable[[int], tuple[int, int]],
    hits: Iterable[int],
    around: Callable[[str, int], tuple[int, int]] | None = None,
) -> tuple[str, tuple[Span, ...]]:
    """Return the sentence of `text` with the most hit words (body before title), hits marked.

    `span(i)` is the (start, end) of word `i` in `text`; `hits` are word indexes; `title_end`
    is where the title ends (`hits` in text order: a lower index stands earlier). Only sentences
    that hold one of the first `SNIPPET_HITS` hits are looked at. `around` finds the
    sentence holding a position: `sentence_around` unless given (`Sentences(text).around` finds
    the same faster; the plain one stays the default for tests/match_before.py, timed as it was).
    """
    around = around or sentence_around
    placed = [span(i) for i in sorted(set(hits))[:SNIPPET_HITS]]
    starts = [start for start, _ in placed]
    best: tuple[int, int, int] | None = None  # (score, start, end)
    for start, end in dict.fromkeys(around(text, s) for s in starts):
        inside = bisect.bisect_left(starts, end) - bisect.bisect_left(starts, start)
        score = inside * 2 + int(start > title_end)
        if best is None or score > best[0]:
            best = (score, start, end)
    if best is None:
        return text[:SNIPPET_MAX_CHARS].strip(), ()
    _, start, end = best
    start, end = _window(text, starts, start, end)
    marked = tuple(Span(s - start, e - start) for s, e in placed if start <= s and e <= end)
    return text[start:end], marked


def sentence_around(text: str, position: int) -> tuple[int, int]:
    """Return the `(start, end)` of the sentence or line holding `position`."""
    found = _SENTENCE_END.search(text, position)
    end = found.start() if found is not None else len(text)
    return _plain_start(text, position), end


def _plain_start(text: str, position: int) -> int:
    """Where the sentence holding `position` starts, reading back at most `_LOOK_BACK`."""
    start = _start_near(text, position)
    if start is None:
        window = max(0, position - _LOOK_BACK)
        start = window
        for boundary in _SENTENCE_END.finditer(text, window, position):
            start = boundary.end()
        if start == window and window > 0:
            start = text.find(" ", window, position) + 1 or window
    return start


class Sentences:
    """Finds the sentences around positions of one text, as `sentence_around` does, in a
    fraction of its time where a position is not white space (a word's start, say).

    From the first character that is not white space on, a scan from anywhere finds the same
    boundaries as a scan of the whole text, with either pattern. So a look-back window's last
    boundary is read with the quicker `_BOUNDARY` when it starts after that character; one in
    the white space a window starts in (rare) is read as `sentence_around` reads it. The next
    boundary after a position is remembered: the positions after it and before that boundary
    share it, so thousands of hits in a text without a sentence end do not each scan to its end.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._from = len(text) + 1  # the position the remembered boundary was searched from
        self._next: int | None = None  # where that boundary starts, None if there was none

    def around(self, text: str, position: int) -> tuple[int, int]:
        """Return the `(start, end)` of the sentence of `text` (this one) holding `position`."""
        if position >= len(text) or text[position].isspace():
            return sentence_around(text, position)
        start = None
        if position - _NEAR > 0:
            start = _last_boundary_end(text, position - _NEAR, position)
        if start is None:
            start = _last_boundary_end(text, max(0, position - _LOOK_BACK), position)
            if start is None:
                start = _plain_start(text, position)
        found = self._boundary_after(position)
        if found is None:
            return start, len(text)
        return start, found + (text[found] != "\n")

    def _boundary_after(self, position: int) -> int | None:
        if not (self._from <= position and (self._next is None or position <= self._next)):
            found = _BOUNDARY.search(self.text, position)
            self._from, self._next = position, found.start() if found is not None else None
        return self._next


def _last_boundary_end(text: str, window: int, position: int) -> int | None:
    """Return where the last boundary in `text[window:position]` ends, if it starts after the
    first character there that is not white space; otherwise None."""
    boundaries = deque(_BOUNDARY.finditer(text, window, position), maxlen=1)
    solid = _NOT_SPACE.search(text, window, position)
    if not boundaries or solid is None or boundaries[0].start() < solid.start():
        return None
    return boundaries[0].end()


def _start_near(text: str, position: int) -> int | None:
    """Find the sentence start within the last `_NEAR` characters, if it is certainly the one
    the whole look-back would find; None when the whole look-back is needed.

    Boundaries are runs of white space, so a character that is not white space lies in no
    boundary: from the first such character on, scanning from here or from further back finds
    the same boundaries. A boundary found after it is therefore the last one either way.
    """
    near = position - _NEAR
    if near <= 0:
        return None
    boundaries = deque(_SENTENCE_END.finditer(text, near, position), maxlen=1)
    if not boundaries:
        return None
    last = boundaries[0]
    solid = _NOT_SPACE.search(text, near, position)
    return last.end() if solid is not None and last.start() >= solid.start() else None


def _window(text: str, starts: list[int], start: int, end: int) -> tuple[int, int]:
    """Shrink a long sentence to SNIPPET_MAX_CHARS around its first hit, at word boundaries."""
    if end - start <= SNIPPET_MAX_CHARS:
        return start, end
    first = starts[bisect.bisect_left(starts, start)]
    lo = max(start, first - SNIPPET_MAX_CHARS // 3)
    hi = min(end, lo + SNIPPET_MAX_CHARS)
    if lo > start:
        lo = text.find(" ", lo, first) + 1 or lo
    if hi < end:
        hi = text.rfind(" ", lo, hi) if text.rfind(" ", lo, hi) > first else hi
    return lo, hi


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
