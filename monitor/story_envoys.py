"""Whose envoy a headline names: a mark (`envoy:russia`) that tells two summonses apart.

"Moskau bestellt südkoreanischen Botschafter ein" and "South Korea summons Russian ambassador"
share every word the story rule weighs, the summons, the envoy and both states, yet tell two
events; the state named just before the envoy says which (story_marks.py reads the headline).
"""

from __future__ import annotations

from monitor.query import fold
from monitor.spelling import spell

# The words for an envoy, and the states (their names, capitals, adjectives) before one.
ENVOYS = tuple(spell(fold(stem)) for stem in ("botschaft", "ambassador", "envoy", "gesandt"))
_ENVOY_STATES = tuple((spell(fold(stem)), f"envoy:{state}") for stem, state in (
    ("russ", "russia"), ("moskau", "russia"), ("moscow", "russia"), ("kreml", "russia"),
    ("nordkorea", "northkorea"), ("northkorea", "northkorea"), ("pjongjang", "northkorea"),
    ("pyongyang", "northkorea"), ("sudkorea", "southkorea"), ("southkorea", "southkorea"),
    ("seoul", "southkorea"), ("japan", "japan"), ("tokio", "japan"), ("tokyo", "japan"),
    ("chines", "china"), ("china", "china"), ("peking", "china"), ("beijing", "china"),
    ("deutsch", "germany"), ("german", "germany"), ("berlin", "germany"), ("amerika", "usa"),
    ("american", "usa"), ("washington", "usa"), ("ukrain", "ukraine"), ("kiew", "ukraine"),
    ("kyiv", "ukraine")))  # fmt: skip
# Words between a state and its envoy: "Russia's ambassador" ("s"), "Pjöngjangs neuer Botschafter".
_ENVOY_FILLERS = frozenset(
    spell(fold(word))
    for word in ("s", "new", "neue", "neuer", "neuen", "neuem", "top", "former", "ehemalige")
)


def envoy(words: list[str], at: int) -> set[str]:
    """Whose envoy the word at `at`, just before one, names ("südkoreanischen", "North Korea's",
    "Pjöngjangs neuer")."""
    if at and words[at] in _ENVOY_FILLERS:
        at -= 1
    names = [words[at]]
    if at and words[at - 1] in ("north", "south"):
        names.append(words[at - 1] + words[at])
    return {mark for name in names for stem, mark in _ENVOY_STATES if name.startswith(stem)}
