"""Fold words so that case, umlauts (ä = ae = a), ß = ss and other diacritics match alike, in
queries and in articles."""

from __future__ import annotations

import re
import unicodedata

# Umlauts written as digraphs (ae, oe, ue) fold to the same base letter as the umlaut itself.
_DIGRAPH_RUNS = tuple((re.compile(letter + "e+"), letter) for letter in "aou")


def fold(word: str) -> str:
    """Fold one word for matching: case, ß, diacritics and umlaut digraphs (idempotent)."""
    return merge_digraphs(fold_letters(word))


def fold_letters(text: str) -> str:
    """Fold case, ß and diacritics, letter by letter (what `fold` does before digraphs)."""
    # Decompose before and after casefolding: compatibility forms (ᴬ, ﬁ) fold only once decomposed.
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    # A few letters decompose to words with spaces (ﷺ, ͺ): a word folds to one word, always.
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch) and not ch.isspace())


def merge_digraphs(text: str) -> str:
    """Replace umlaut digraphs (ae, oe, ue) by their letter until none is left.

    Replacing until none is left drops every run of "e" that follows a, o or u; dropping one
    run never makes another, so one pass per letter does the same.
    """
    if "ae" in text or "oe" in text or "ue" in text:  # most words have none
        for run, letter in _DIGRAPH_RUNS:
            text = run.sub(letter, text)
    return text
