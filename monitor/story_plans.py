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
from monitor.spelling import spell, spelled_words

# Words that tell a plan wherever they stand (in German only: "plant" is an English factory).
_GERMAN_PLANS = spelled_words(
    "plant planen geplant erwartet erwarten angekundigt ankundigung bevorstehend bevorstehende "
    "bevorstehenden soll sollen"
)
_ENGLISH_PLANS = spelled_words("upcoming will may could")
# English "to" before a verb tells a plan ("Putin to visit", "set to sign", "likely to attend")
# unless a verb or noun before it governs it ("urges Seoul to send", "invitation to visit").
_TO_VERBS = spelled_words(
    "visit send sign vote ratify meet attend deploy hold travel supply deliver impose adopt "
    "host join open build return withdraw veto start begin resume ship dispatch extend lift"
)
_GOVERNING = spelled_words(
    "urges urged urge asks asked ask invitation invites invited refuses refused fails failed "
    "calls called tells told ordered orders allowed allows right votes voted vote arrives "
    "arrived sends sent lands landed"
)
# A subject's own commitment before "to": "pledges to send", "agree to sign" tell its plan.
_COMMITS = spelled_words(
    "vows vowed pledges pledged agrees agreed agree offers offered wants want decides decided "
    "ready going seeks sought tries tried hopes hoped plan plans"
)
_HAVE, _BE = spell(fold("have")), spell(fold("be"))  # "may have been killed"; "to be withdrawn"
_MONTH_BEFORE = spelled_words("in since until early late mid last next of")  # "in May": the month
_MAY = spell(fold("may"))
_ANNOUNCES = spelled_words("kundigt kundigen")  # "kündigt Satellitenstart an"
_AN = spell(fold("an"))
# A participle of a separable verb ends in "-en" too ("abgezogen", "eingetroffen"): no infinitive.
_SEPARABLE_GE = tuple(
    prefix + "ge"
    for prefix in spelled_words("ab an auf aus ein fest frei heim mit vor zu zuruck weg los bei")
)
_TO = spell(fold("to"))
# German future and intent: "wird besuchen", "wollen unterzeichnen": the headline ends on the
# infinitive (a passive ends on a participle: "Sanktionen werden verhängt" is the act).
_GERMAN_FUTURE = spelled_words("wird werden will wollen")
_THREATENS = (spell(fold("droht")), spell(fold("mit")))  # "droht mit Veto": not yet cast
# English words that tell a plan only before "to" ("plans to send"), or, for "expected", also
# at a clause's end or before when or where ("veto expected", "expected on Tuesday").
_BEFORE_TO = spelled_words("plans expected")
_EXPECTED = spell(fold("expected"))
_AFTER_EXPECTED = spelled_words("to in at on")
# A frame before the word makes it a happening: "as expected", "wie geplant", "long-expected".
_FRAMES = spelled_words("as wie long lang")
_AWAITS = spelled_words("erwartet erwarten")  # before a person: awaits a guest
_HEARSAY = spelled_words("soll sollen")
_PAST = spelled_words("haben sein worden gewesen")
_AHEAD, _OF = spell(fold("ahead")), spell(fold("of"))


def plan_at(
    clause: Sequence[str], lang: str, last: str, person: frozenset[int] = frozenset()
) -> int:
    """Where a clause's (spelled) words tell a plan or an expectation: the plan word's place, or
    -1. `lang` is the report's language ("" when too short to tell: both are read), `last` the
    headline's last word (hearsay's past infinitive may end it, after a dash; the clause's own
    last word is read too), `person` the places in the clause of words that name a person.
    Words after the plan word name what is planned; an act named before it is done ("arrives in
    Moscow to meet Putin": the arrival happened)."""
    own_last = clause[-1] if clause else ""
    for i, word in enumerate(clause):
        following = clause[i + 1] if i + 1 < len(clause) else ""
        if word == _AHEAD and following == _OF:
            return -1  # "ahead of the upcoming visit": what follows sets the scene
        if _FRAMES.intersection(clause[max(0, i - 3) : i]):
            continue
        if lang != "en" and _german_plan(word, following, (own_last, last), i + 1 in person):
            return i
        if lang != "de" and _english_plan(word, following, clause[:i]):
            return i
    return -1


def _english_plan(word: str, following: str, before: Sequence[str]) -> bool:
    """Whether an English word, with the word after it and the clause before it, tells a plan."""
    if word in _ENGLISH_PLANS:
        return following != _HAVE and not _the_month(word, following, before)
    if word in _BEFORE_TO and following == _TO:
        return True
    if word == _EXPECTED and following in _AFTER_EXPECTED | {""}:
        return True
    if word != _TO or not before or following not in _TO_VERBS | {_BE}:
        return False
    return bool(_COMMITS.intersection(before)) or not _GOVERNING.intersection(before)


def _german_plan(word: str, following: str, lasts: tuple[str, str], before_a_person: bool) -> bool:
    """Whether a German word, with the word after it and the clause's and the headline's last
    words (`lasts`), tells a plan."""
    own = lasts[0]
    if word in _GERMAN_PLANS and _a_plan(word, lasts, before_a_person):
        return True
    if word in _GERMAN_FUTURE and _infinitive(own) and own != word:
        return True
    if word in _ANNOUNCES and own == _AN:
        return True
    return (word, following) == _THREATENS


def _a_plan(word: str, lasts: tuple[str, str], before_a_person: bool) -> bool:
    """Whether a German plan word is one here: not hearsay, not awaiting a guest."""
    if word in _HEARSAY:
        return not _PAST.intersection(lasts)
    return not (word in _AWAITS and before_a_person)


def _infinitive(word: str) -> bool:
    """Whether a spelled word can be a German infinitive ending a clause (not a participle)."""
    return word.endswith("en") and not word.startswith(("ge", *_SEPARABLE_GE)) and word not in _PAST


def _the_month(word: str, following: str, before: Sequence[str]) -> bool:
    """Whether "may" is the month ("in May", "May 9"), not a hedge or a plan."""
    return word == _MAY and (
        (bool(before) and before[-1] in _MONTH_BEFORE) or following[:1].isdigit()
    )
