"""One spelling key for a name however German or English writes it: Pjöngjang and Pyongyang,
Schoigu and Shoigu, Gerassimow and Gerasimov agree once folded and spelled."""

from __future__ import annotations

import re

from monitor.query import fold

_SPELLINGS = (("tsh", "h"), ("tsch", "h"), ("sch", "s"), ("sh", "s"), ("zh", "s"), ("kh", "h"),
              ("ch", "h"), ("w", "v"), ("j", "i"), ("y", "i"), ("ie", "i"), ("z", "s"),
              ("ph", "f"), ("ck", "k"), ("ce", "se"), ("ci", "si"), ("c", "k"))  # fmt: skip
_DOUBLED = re.compile(r"(.)\1+")


def spell(word: str) -> str:
    """Return the transliteration key of a folded word (Pjongjang and Pyongyang agree)."""
    for old, new in _SPELLINGS:
        word = word.replace(old, new)
    return _DOUBLED.sub(r"\1", word)


def spelled_words(words: str) -> frozenset[str]:
    """Return the keys of space-separated words, folded and spelled (a word list written once)."""
    return frozenset(spell(fold(word)) for word in words.split())
