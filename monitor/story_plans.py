"""Whether a headline tells a plan or an expectation rather than what happened.

"UN Security Council to vote Tuesday; veto expected" is not the report of the veto, nor
"Schoigu soll Pjöngjang besuchen" the report of his arrival: the act is the next event, and an
analyst must be told of it (story_clash.py vetoes "the same report" between a plan and an act).

A word is read as a plan only where it is the headline's own verb, not a frame or another
sense: "as expected", "wie geplant" and "long-expected" tell a happening; English "plant" is a
factory; "Kim erwartet Putin" awaits a guest; "ahead of the upcoming visit" sets the scene; and
German "soll" with a past infinitive at the end ("soll Raketen geliefert haben") is hearsay
about what happened. Words are spelled (`monitor.spelling`) as story_marks.py reads them.
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.query import fold
from monitor.spelling import spell


def _spelled(words: str) -> frozenset[str]:
    return frozenset(spell(fold(word)) for word in words.split())


# Words that tell a plan wherever they stand (in German only: "plant" is an English factory).
_GERMAN_PLANS = _spelled(
    "plant planen geplant erwartet erwarten angekundigt ankundigung bevorstehend bevorstehende "
    "bevorstehenden soll sollen"
)
_ENGLISH_PLANS = _spelled("upcoming will may could")
# English "to" before a verb tells a plan ("Putin to visit", "set to sign", "likely to attend")
# unless a verb or noun before it governs it ("urges Seoul to send", "invitation to visit").
_TO_VERBS = _spelled(
    "visit send sign vote ratify meet attend deploy hold travel supply deliver impose adopt "
    "host join open build return withdraw veto start begin resume ship dispatch extend lift"
)
_GOVERNING = _spelled(
    "urges urged urge asks asked ask invitation invites invited agrees agreed agree offers "
    "offered offer wants want decides decided vows vowed pledges pledged refuses refused fails "
    "failed calls called tells told ordered orders allowed allows seeks sought tries tried "
    "hopes hoped ready right plan plans expected going"
)
_TO = spell(fold("to"))
# German future and intent: "wird besuchen", "wollen unterzeichnen": the headline ends on the
# infinitive (a passive ends on a participle: "Sanktionen werden verhängt" is the act).
_GERMAN_FUTURE = _spelled("wird werden will wollen")
_THREATENS = (spell(fold("droht")), spell(fold("mit")))  # "droht mit Veto": not yet cast
# English words that tell a plan only before "to" ("plans to send"), or, for "expected", also
# at a clause's end or before when or where ("veto expected", "expected on Tuesday").
_BEFORE_TO = _spelled("plans expected")
_EXPECTED = spell(fold("expected"))
_AFTER_EXPECTED = _spelled("to in at on")
# A frame before the word makes it a happening: "as expected", "wie geplant", "long-expected".
_FRAMES = _spelled("as wie long lang")
_AWAITS = _spelled("erwartet erwarten")  # before a person: awaits a guest
_HEARSAY = _spelled("soll sollen")
_PAST = _spelled("haben sein worden gewesen")
_AHEAD, _OF = spell(fold("ahead")), spell(fold("of"))


def looks_ahead(
    clause: Sequence[str], lang: str, last: str, person: frozenset[int] = frozenset()
) -> bool:
    """Whether a clause's (spelled) words tell a plan or an expectation. `lang` is the report's
    language ("" when too short to tell: both are read), `last` the headline's last word
    (hearsay's past infinitive ends it, after any dash), `person` the places in the clause of
    words that name a person."""
    for i, word in enumerate(clause):
        following = clause[i + 1] if i + 1 < len(clause) else ""
        if word == _AHEAD and following == _OF:
            return False  # "ahead of the upcoming visit": what follows sets the scene
        if i and clause[i - 1] in _FRAMES:
            continue
        if lang != "en" and _german_plan(word, following, last, i + 1 in person):
            return True
        if lang != "de" and _english_plan(word, following, clause[:i]):
            return True
    return False


def _english_plan(word: str, following: str, before: Sequence[str]) -> bool:
    """Whether an English word, with the word after it and the clause before it, tells a plan."""
    if word in _ENGLISH_PLANS:
        return True
    if word in _BEFORE_TO and following == _TO:
        return True
    if word == _EXPECTED and following in _AFTER_EXPECTED | {""}:
        return True
    return bool(
        word == _TO and following in _TO_VERBS and before and not _GOVERNING.intersection(before)
    )


def _german_plan(word: str, following: str, last: str, before_a_person: bool) -> bool:
    """Whether a German word, with the word after it and the headline's last, tells a plan."""
    if word in _GERMAN_PLANS and _a_plan(word, last, before_a_person):
        return True
    if word in _GERMAN_FUTURE and _infinitive(last) and last != word:
        return True
    return (word, following) == _THREATENS


def _a_plan(word: str, last: str, before_a_person: bool) -> bool:
    """Whether a German plan word is one here: not hearsay, not awaiting a guest."""
    if word in _HEARSAY:
        return last not in _PAST
    return not (word in _AWAITS and before_a_person)


def _infinitive(word: str) -> bool:
    """Whether a spelled word can be a German infinitive ending a clause (not a participle)."""
    return word.endswith("en") and not word.startswith("ge") and word not in _PAST
