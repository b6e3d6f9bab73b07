"""An article as the matcher reads it: its folded words, one space before, between and after
them (the text the automaton runs over), and where each word stands in the article.

Folding happens in a few passes over the whole text: each distinct character outside ASCII is
replaced by its fold (or a space, between words), ASCII is lower-cased and split in one
translate; word by word only when a character would fold across a word boundary. The result
is what `query.fold` gives word by word (tests/test_match_equivalence.py).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from monitor.models import Article
from monitor.query import fold, fold_letters, merge_digraphs

if TYPE_CHECKING:
    import numpy
    import numpy.typing

    _Array = numpy.typing.NDArray[numpy.intp]

# Title and body are one word sequence; this gap keeps NEAR from reaching across them.
_FIELD_GAP = 10_000
_WORD = re.compile(r"\w+")
SEPARATOR = "|"  # stands between title and body words; no pattern can contain it
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# ASCII letters, digits and _ in lower case; every other ASCII character separates words.
_ASCII_FOLD = str.maketrans(
    {chr(c): chr(c).lower() if _WORD.fullmatch(chr(c)) else " " for c in range(128)}
)
# The same for UTF-8 bytes, leaving the bytes of other characters as they are.
_UTF8_FOLD = bytes(ord(_ASCII_FOLD[c]) if c < 128 else c for c in range(256))


@lru_cache(maxsize=200_000)
def _fold(word: str) -> str:
    return fold(word)


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


def _non_ascii(text: str) -> set[str]:
    return set() if text.isascii() else set(_NON_ASCII.findall(text))


def _folded_words(text: str, non_ascii: set[str]) -> list[str]:
    """Return the text's words (`_WORD`), folded: what `fold` gives word by word, but folded
    in a few passes over the whole text when every character folds on its own.

    `non_ascii` are the text's characters outside ASCII.
    """
    if not non_ascii:
        return text.translate(_ASCII_FOLD).split()
    found = {char: _letter(char) for char in non_ascii}
    if None in found.values() or any(
        found.get(letter, letter) != letter for folded in found.values() for letter in folded or ""
    ):
        return list(map(_fold, _WORD.findall(text)))
    for char, folded in found.items():
        if folded != char:
            text = text.replace(char, folded or "")
    if text.isascii():
        return text.translate(_ASCII_FOLD).split()
    # Letters that fold to themselves remain (ø, Cyrillic): fold the ASCII bytes around them.
    return text.encode("utf-8").translate(_UTF8_FOLD).decode("utf-8").split()


def _word_places(text: str, non_ascii: set[str]) -> tuple[_Array, _Array]:
    """Return where each word (`_WORD`) of the text starts and ends.

    The text is reduced to its shape first, a word character to a letter and anything else to
    a space; the words are then where that shape changes between the two, found in NumPy.
    `non_ascii` are the text's characters outside ASCII.
    """
    import numpy  # imported with the first matched article: it takes 50 ms to load

    shape = text
    for char in non_ascii:
        shape = shape.replace(char, "x" if _WORD.fullmatch(char) else " ")
    solid = numpy.frombuffer(shape.translate(_ASCII_FOLD).encode("ascii"), numpy.uint8) != 32
    edges = numpy.flatnonzero(numpy.diff(solid.view(numpy.int8), prepend=0, append=0))
    return edges[0::2], edges[1::2]


# The lead: a report states its subject in the title and its first sentence or two; a subject
# named only further down is usually background ("... like North Korea before it").
LEAD_WORDS = 40


class Document:
    """An article as a sequence of folded words: title words, a separator, body words.

    `joined` is that sequence with one space before, between and after the words: the text
    the automaton runs over. Umlaut digraphs are merged in it at once, not word by word.
    """

    def __init__(self, article: Article) -> None:
        self.title = article.entry.title
        self.full = f"{self.title}\n{article.text}"
        in_title, in_text = _non_ascii(self.title), _non_ascii(article.text)
        self._non_ascii = in_title | in_text
        words = _folded_words(self.title, in_title)
        self.title_count = len(words)
        words.append(SEPARATOR)
        words.extend(_folded_words(article.text, in_text))
        self.joined = merge_digraphs(" " + " ".join(words) + " ")
        # where each word of `full` starts and ends, once needed
        self._places: tuple[_Array, _Array] | None = None

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
        if index == self.title_count:
            return len(self.title), len(self.title)
        if self._places is None:  # only matched articles need them
            self._places = _word_places(self.full, self._non_ascii)
        word = index if index < self.title_count else index - 1
        starts, ends = self._places
        return int(starts[word]), int(ends[word])
