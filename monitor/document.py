"""An article as the matcher reads it: its folded words, one space before, between and after
them, in UTF-8 (the text the automaton runs over), and where each word stands in the article.

Folding happens in a few passes over the whole text: each distinct character outside ASCII is
replaced by its fold (or a space, between words), ASCII is lower-cased in one translate, and
NumPy closes up the spaces and merges umlaut digraphs; word by word only when a character would
fold across a word boundary. The result is what `query.fold` gives word by word
(tests/test_match_equivalence.py).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

from monitor.models import Article
from monitor.query import fold, fold_letters, merge_digraphs

if TYPE_CHECKING:
    import numpy
    import numpy.typing

    _Array = numpy.typing.NDArray[numpy.intp]
    _Codes = numpy.typing.NDArray[numpy.uint32]

# Title and body are one word sequence; this gap keeps NEAR from reaching across them.
_FIELD_GAP = 10_000
_WORD = re.compile(r"\w+")
_SEPARATOR = b"|"  # stands between title and body words; no pattern can contain it
# ASCII letters, digits and _ in lower case; every other ASCII character separates words.
_ASCII_FOLD = str.maketrans(
    {chr(c): chr(c).lower() if _WORD.fullmatch(chr(c)) else " " for c in range(128)}
)
# The same for UTF-8 bytes, leaving the bytes of other characters as they are.
_UTF8_FOLD = bytes(ord(_ASCII_FOLD[c]) if c < 128 else c for c in range(256))
# Folded text shorter than this is split and joined in Python; longer, NumPy is quicker.
_LONG = 2000
# Whether each ASCII character is a word character, with a last entry for every code past
# ASCII: bytes that NumPy reads as booleans (it is imported only when first used).
_ASCII_WORD = bytes(bool(_WORD.fullmatch(chr(c))) for c in range(128)) + b"\0"


# Up to this many distinct characters to fold, one str.replace each; more, one str.translate.
_REPLACE_AT_MOST = 32


@lru_cache(maxsize=200_000)
def _fold(word: str) -> str:
    """Fold one word of a text to one token: a word that folds to nothing (a lone sound mark,
    ﾞ) keeps its own spelling, which no query word folds to, so word `i` stays token `i`."""
    return fold(word) or word


@lru_cache(maxsize=20_000)
def _letter(char: str) -> str | None:
    """What folding makes of one character of a text: its folded letters inside a word, a
    space for a character between words; None when folding would move a word boundary (a
    letter that folds to a mark or a symbol, such as ½ or ™)."""
    if not _WORD.fullmatch(char):
        return " "
    folded = fold_letters(char)
    if not folded or not _WORD.fullmatch(folded) or folded.lower() != folded:
        return None
    return folded


class _Wide(NamedTuple):
    """A text beyond ASCII as NumPy sees it: its code points, and where those past ASCII are."""

    codes: _Codes
    at: _Array


def _wide(text: str) -> _Wide | None:
    """Return the text's code points and where those past ASCII are; None for ASCII text."""
    if text.isascii():
        return None
    import numpy  # imported with the first article: it takes 50 ms to load

    codes = numpy.frombuffer(text.encode("utf-32-le", "surrogatepass"), numpy.uint32)
    return _Wide(codes, numpy.flatnonzero(codes > 127))


def _non_ascii(wide: _Wide | None) -> set[str]:
    """Return the distinct characters outside ASCII of a text (`_wide`)."""
    if wide is None:
        return set()
    import numpy

    return set(map(chr, numpy.unique(wide.codes[wide.at]).tolist()))


def _folded_words(text: str, non_ascii: set[str]) -> tuple[bytes, int]:
    """Return the text's words (`_WORD`), folded, one space between them, in UTF-8, and their
    number: what `fold` gives word by word, but folded in a few passes over the whole text when
    every character folds on its own.

    `non_ascii` holds at least the text's characters outside ASCII.
    """
    if non_ascii:
        found = {char: _letter(char) for char in non_ascii}
        if None in found.values() or any(
            found.get(letter, letter) != letter
            for folded in found.values()
            for letter in folded or ""
        ):
            words = list(map(_fold, _WORD.findall(text)))
            return " ".join(words).encode("utf-8", "surrogatepass"), len(words)
        changed = {char: folded for char, folded in found.items() if folded != char}
        if len(changed) > _REPLACE_AT_MOST:  # a Korean text holds thousands of distinct syllables
            text = text.translate({ord(char): folded for char, folded in changed.items()})
        else:  # a German one a dozen: a pass of str.replace each is quicker than translate
            for char, folded in changed.items():
                text = text.replace(char, folded or "")
    # Letters that fold to themselves may remain (ø, Cyrillic): the ASCII bytes around them
    # are folded alike.
    folded_bytes = text.encode("utf-8").translate(_UTF8_FOLD)
    if len(folded_bytes) < _LONG:
        words = folded_bytes.decode("utf-8").split()
        return merge_digraphs(" ".join(words)).encode("utf-8"), len(words)
    joined = _closed_up(folded_bytes)
    return joined, joined.count(b" ") + 1 if joined else 0


def _closed_up(folded: bytes) -> bytes:
    """Return folded UTF-8 text (word characters and spaces) with one space between words,
    none around them, and umlaut digraphs merged (`merge_digraphs`)."""
    import numpy

    data = numpy.frombuffer(folded, numpy.uint8)
    space = data == ord(" ")
    keep = ~space
    keep[1:] |= ~space[:-1]  # the first space after a word stays
    e, before = data == ord("e"), data[:-1]
    merged = e[1:] & ((before == ord("a")) | (before == ord("o")) | (before == ord("u")))
    runs = bool((merged[:-1] & e[2:]).any())  # "aee": merge_digraphs drops the whole run
    if not runs:
        keep[1:] &= ~merged
    joined = data[keep].tobytes().strip(b" ")
    return merge_digraphs(joined.decode("utf-8")).encode("utf-8") if runs else joined


def _word_places(text: str, wide: _Wide | None, non_ascii: set[str]) -> tuple[_Array, _Array]:
    """Return where each word (`_WORD`) of the text starts and ends.

    Each character is classed as a word character or not, by a table for ASCII and by
    `non_ascii` (the text's characters outside ASCII, from `wide`) for the rest; the words are
    then where the class changes, found in NumPy.
    """
    import numpy

    codes = numpy.frombuffer(text.encode("ascii"), numpy.uint8) if wide is None else wide.codes
    solid = numpy.zeros(len(codes) + 2, numpy.bool_)  # a non-word character at either end
    solid[1:-1] = numpy.frombuffer(_ASCII_WORD, numpy.bool_).take(codes, mode="clip")
    letters = [ord(char) for char in non_ascii if _letter(char) != " "]
    if wide is not None and letters:
        solid[wide.at + 1] = numpy.isin(wide.codes[wide.at], letters, kind="sort")
    edges = numpy.flatnonzero(solid[1:] != solid[:-1])
    return edges[0::2], edges[1::2]


# The lead: a report states its subject in the title and its first sentence or two; a subject
# named only further down is usually background ("... like North Korea before it").
LEAD_WORDS = 40


class Document:
    """An article as a sequence of folded words: title words, a separator, body words.

    `joined` is that sequence with one space before, between and after the words, in UTF-8:
    the text the automaton runs over. Umlaut digraphs are merged in it text by text, not word
    by word.
    """

    def __init__(self, article: Article) -> None:
        self.title = article.entry.title
        self.full = f"{self.title}\n{article.text}"
        self._wide = _wide(self.full)
        self._non_ascii = _non_ascii(self._wide)
        title, self.title_count = _folded_words(self.title, self._non_ascii)
        body, body_count = _folded_words(article.text, self._non_ascii)
        parts = [title] * bool(self.title_count) + [_SEPARATOR] + [body] * bool(body_count)
        self.joined = b" " + b" ".join(parts) + b" "
        # where each word of `full` starts and ends, once needed
        self._places: tuple[_Array, _Array] | None = None
        self._spans: dict[int, tuple[int, int]] = {}

    def in_field(self, index: int, where: str) -> bool:
        """Say whether the word at `index` lies in the title, the body, the title or the lead
        (the body's first `LEAD_WORDS` words), or anywhere."""
        if where == "title":
            return index < self.title_count
        if where == "text":
            return index > self.title_count
        if where == "lead":
            return index != self.title_count and index <= self.title_count + LEAD_WORDS
        return index != self.title_count

    def position(self, index: int) -> int:
        """Return the index as a coordinate for NEAR, with title and body far apart."""
        return index if index < self.title_count else index + _FIELD_GAP

    def span(self, index: int) -> tuple[int, int]:
        """Return where the word at sequence index `index` stands in `full`."""
        found = self._spans.get(index)  # a matched word is asked for by surface, snippet, spans
        if found is not None:
            return found
        if index == self.title_count:
            return len(self.title), len(self.title)
        if self._places is None:  # only matched articles need them
            self._places = _word_places(self.full, self._wide, self._non_ascii)
        word = index if index < self.title_count else index - 1
        starts, ends = self._places
        found = self._spans[index] = int(starts[word]), int(ends[word])
        return found
