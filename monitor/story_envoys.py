"""Whose envoy a headline names: a mark (`envoy:russia`) that tells two summonses apart.

"Moskau bestellt südkoreanischen Botschafter ein" and "South Korea summons Russian ambassador"
share every word the story rule weighs, the summons, the envoy and both states, yet tell two
events; the state named just before the envoy says which (story_marks.py reads the headline
and knows the third states' names).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from monitor.query import fold
from monitor.spelling import spell, spelled_words

# The words for an envoy ("Botschaft" alone is an embassy or a message, "gesandt" is "sent").
ENVOYS = tuple(spell(fold(stem)) for stem in ("botschafter", "ambassador", "envoy", "gesandte"))
# The two states of the cooperation, which name no third state (story_marks), by their names,
# capitals and adjectives before an envoy, as spelled stems ("russischen", "Moskaus").
_ACTORS = tuple((spell(fold(stem)), f"envoy:{state}") for stem, state in (
    ("russisch", "russia"), ("russian", "russia"), ("russland", "russia"), ("russia", "russia"),
    ("moskau", "russia"), ("moscow", "russia"), ("kreml", "russia"),
    ("nordkorea", "northkorea"), ("northkorea", "northkorea"), ("pjongjang", "northkorea"),
    ("pyongyang", "northkorea")))  # fmt: skip
# Words between a state and its envoy: "Russia's ambassador" ("s"), "Pjöngjangs neuer Botschafter".
_FILLER_WORDS = """s new neue neuer neuen neuem top former ehemalige ehemaliger ehemaligen special
    sonder"""
_ENVOY_FILLERS = spelled_words(_FILLER_WORDS)


def envoy(words: Sequence[str], at: int, state_of: Callable[[str], str | None]) -> set[str]:
    """The `envoy:` mark of the state the word at `at`, just before an envoy, names
    ("südkoreanischen", "North Korea's", "Pjöngjangs neuer"); none when it names none.
    `state_of` gives a word's mark (story_marks): a third state's name is read by the same
    words as its `state:` mark."""
    while at and words[at] in _ENVOY_FILLERS:  # "Russia's new ambassador": two
        at -= 1
    names = [words[at], words[at].removesuffix("s")]  # "Chinas Gesandter"
    if at and words[at - 1] in ("north", "south"):
        names.append(words[at - 1] + words[at])
    found = {mark for name in names for stem, mark in _ACTORS if name.startswith(stem)}
    for name in names:
        kind, _, state = (state_of(name) or "").partition(":")
        if kind == "state":
            found.add(f"envoy:{state}")
    return found
