"""Whose envoy a headline names: a mark (`envoy:russia`) that tells two summonses apart.

"Moskau bestellt südkoreanischen Botschafter ein" and "South Korea summons Russian ambassador"
share every word the story rule weighs, the summons, the envoy and both states, yet tell two
events; the state named just before the envoy says which (story_marks.py reads the headline).
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.query import fold
from monitor.spelling import spell

# The words for an envoy ("Botschaft" alone is an embassy or a message, "gesandt" is "sent").
ENVOYS = tuple(spell(fold(stem)) for stem in ("botschafter", "ambassador", "envoy", "gesandte"))
# The states' names, capitals and adjectives before an envoy, as spelled stems. A stem of five
# letters or more matches the words it starts ("südkoreanischen"); a shorter one only itself
# ("China", "Kiew"): spelled, "Russ" would start "rushes" and "China" "hinaus".
_ENVOY_STATES = tuple((spell(fold(stem)), f"envoy:{state}") for stem, state in (
    ("russisch", "russia"), ("russian", "russia"), ("russland", "russia"), ("russia", "russia"),
    ("moskau", "russia"), ("moscow", "russia"), ("kreml", "russia"),
    ("nordkorea", "northkorea"), ("northkorea", "northkorea"), ("pjongjang", "northkorea"),
    ("pyongyang", "northkorea"), ("sudkorea", "southkorea"), ("southkorea", "southkorea"),
    ("seoul", "southkorea"), ("japan", "japan"), ("tokio", "japan"), ("tokyo", "japan"),
    ("chinese", "china"), ("chinesisch", "china"), ("china", "china"), ("chinas", "china"),
    ("peking", "china"), ("deutsche", "germany"), ("deutsch", "germany"),
    ("german", "germany"), ("berlin", "germany"), ("amerika", "usa"), ("american", "usa"),
    ("washington", "usa"), ("ukrain", "ukraine"), ("kiew", "ukraine"), ("kyiv", "ukraine"),
    ("britisch", "britain"), ("british", "britain"), ("london", "britain"),
    ("franzosisch", "france"), ("french", "france"), ("paris", "france")))  # fmt: skip
# Words between a state and its envoy: "Russia's ambassador" ("s"), "Pjöngjangs neuer Botschafter".
_FILLER_WORDS = """s new neue neuer neuen neuem top former ehemalige ehemaliger ehemaligen special
    sonder"""
_ENVOY_FILLERS = frozenset(spell(fold(word)) for word in _FILLER_WORDS.split())


def envoy(words: Sequence[str], at: int) -> set[str]:
    """The `envoy:` mark of the state the word at `at`, just before an envoy, names
    ("südkoreanischen", "North Korea's", "Pjöngjangs neuer"); none when it names none."""
    while at and words[at] in _ENVOY_FILLERS:  # "Russia's new ambassador": two
        at -= 1
    names = [words[at]]
    if at and words[at - 1] in ("north", "south"):
        names.append(words[at - 1] + words[at])
    return {mark for name in names for stem, mark in _ENVOY_STATES if _names(name, stem)}


def _names(word: str, stem: str) -> bool:
    return word == stem or (len(stem) >= 5 and word.startswith(stem))
