"""What counts as evidence that two reports tell one event, and what says they cannot.

Every report on a topic shares its words (Nordkorea, Soldaten, Kursk, the stock "more than
10,000 soldiers"), so sharing them says nothing about the event. Rarity among all news of the
window cannot tell them apart: on a quiet day the topic's words are rare there too. A term that
opens several of the window's stories is the topic's (`Evidence.topic_wide`) and is never
telling. The story rule (stories.py) asks this module:

- in one language, do the two headlines share a telling term, and does neither headline name
  someone or somewhere telling that the other report never mentions (Shoigu, not Lavrov)?
- across languages, do the two share a headline mark, a rare figure, a date or a telling name,
  and do their headlines share a telling name or event word (then a lower overlap suffices)?
  Their few comparable terms are otherwise mostly the topic's, and any two reports on it score
  alike;
- do their rare figures, dates, lead weekdays or headline marks contradict each other?
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from monitor.specifics import Specifics
from monitor.story_clash import clash, with_states
from monitor.story_marks import state_of
from monitor.story_words import WordWindow

# A term found in this many of the window's story heads (and this share of them) is the topic's,
# not an event's: it never counts as a shared telling term.
TOPIC_HEADS = 2
TOPIC_SHARE = 0.05
# With fewer stories in the window (a fresh start) no word is known to be the topic's yet.
TOPIC_STORIES = 5


@dataclass(slots=True)
class Member:
    """An alerted article in the story index: what the story rule compares it by."""

    story: str
    terms: tuple[str, ...]  # a tuple is a quarter of a set's size; sets are built to compare
    extra: tuple[str, ...]
    figures: tuple[str, ...]
    dates: tuple[str, ...]
    weekdays: tuple[str, ...]
    names: tuple[str, ...]
    marks: tuple[str, ...]
    headline: tuple[str, ...]
    people: tuple[str, ...]
    repeats: bool
    nouns: tuple[str, ...]  # the headline's common nouns (specifics): no new actors
    lang: str
    at: datetime
    head: bool  # the story's first report: the only kind of member compared with


def across_languages(mine: str, theirs: str) -> bool:
    """Whether two reports are in two languages (one too short to tell is taken as the same)."""
    return bool(mine and theirs and mine != theirs)


@dataclass(slots=True)
class Evidence:
    """Judges evidence against the story index's window: its word counts and its stories."""

    words: WordWindow
    postings: dict[str, list[str]]  # term -> keys of the story heads holding it
    heads: dict[str, str]  # story -> key of its first report

    def topic_wide(self, term: str) -> bool:
        """Whether a term opens `TOPIC_HEADS` or more of the window's stories (and
        `TOPIC_SHARE` of them): a word of the topic, shared whatever the events."""
        posting = self.postings.get(term)
        if posting is None or len(self.heads) < TOPIC_STORIES:
            return False
        return len(posting) >= max(TOPIC_HEADS, TOPIC_SHARE * len(self.heads))

    def telling(self, term: str) -> bool:
        """Whether a shared term says something about the event: rare, and not the topic's."""
        return self.words.specific(term) and not self.topic_wide(term)

    def agree(self, found: Specifics, member: Member) -> bool:
        """Whether two headlines in one language agree: they share a telling term (two short
        leads filled by one outlet's background paragraph agree, their headlines do not), and
        neither names someone or somewhere telling the other report never mentions. A report
        without a headline is not asked."""
        if not found.headline or not member.headline:
            return True
        shared = found.headline.intersection(member.headline)
        if not any(self.telling(t) or self._concept(t) for t in shared):
            return False
        return not self._a_new_name(found, member, found.headline, frozenset(member.headline))

    def headlines_share(self, found: Specifics, member: Member) -> bool:
        """Whether two headlines share a telling name or event word, or a mark of what happened
        or where (a figure is not enough: 6,000 more soldiers and 6,000 casualties share one;
        nor a person, a note or a kind of arms, which half the topic's headlines name), and
        neither names someone or somewhere telling the other report never mentions (Minsk,
        after Moscow)."""
        shared = found.headline.intersection(member.headline)
        word = any(t[0] != "#" and self.telling(t) for t in shared)
        marked = found.marks.intersection(member.marks)
        mark = any(not m.startswith(_NO_EVENT_MARKS) for m in marked)
        if not (word or mark):
            return False
        if _new_figure(found.headline, member.terms) or _new_figure(member.headline, found.terms):
            return False  # "10,000 in Kursk", then "first combat in Kursk": a new fact
        # Only names the other language could contain: a German noun (Studie) is no new actor.
        mine = self.comparable(found.headline, found.names, True)
        theirs = self.comparable(member.headline, member.names, True)
        return not self._a_new_name(found, member, mine, theirs, across=True)

    def same_people(self, found: Specifics, member: Member) -> bool:
        """Whether both headlines name the same two or more people and no one else ("Kim Jong
        Un empfängt Lawrow", "Kim Jong Un receives Lavrov in Pyongyang"): in a window where
        every word they share opens many stories, the people of a headline still name its
        meeting."""
        mine = {m for m in found.marks if m.startswith("person:")}
        theirs = {m for m in member.marks if m.startswith("person:")}
        return len(mine) >= 2 and mine == theirs

    def _a_new_name(
        self,
        found: Specifics,
        member: Member,
        mine: frozenset[str],
        theirs: frozenset[str],
        across: bool = False,
    ) -> bool:
        """Whether either headline (`mine`, `theirs`: their terms to read) names someone or
        somewhere telling the other report never mentions. Across languages a headline's
        common nouns (Rüstungsabkommen, General Staff) are capitalised like names but name no
        one; in one language they are words the other report could have used, and count."""
        nouns = (found.nouns, member.nouns) if across else ((), ())
        return self._new_name(
            mine, found.names, nouns[0], member.terms, member.people
        ) or self._new_name(theirs, member.names, nouns[1], found.terms, found.people)

    def _concept(self, term: str) -> bool:
        """Whether a term is an event word (foreign ministers, a treaty) in a window too fresh
        to tell which words are rare: among its few articles every shared word is common."""
        return term[0] == "=" and len(self.heads) < TOPIC_STORIES

    def _new_name(
        self,
        headline: frozenset[str],
        names: Collection[str],
        nouns: Collection[str],
        other: Collection[str],
        people: Collection[str],
    ) -> bool:
        """Whether a headline names someone or somewhere telling that the other lead (`other`
        its terms, `people` its people) never mentions (Shoigu, not Lavrov; Melitopol, not
        Mariupol): another actor, another event. A state the other lead names in other words
        ("German", "Deutschland") or through who speaks for it (Wadephul) is no new one."""
        return any(
            t in names
            and t not in nouns
            and self.telling(t)
            and t not in other
            and not _same_state(t, other, people)
            for t in headline
        )

    def across(self, found: Specifics, member: Member) -> bool:
        """Whether a German and an English report share something about the event itself: a
        headline mark, a date, a rare figure, or a telling name."""
        # A shared person says little: Putin and Kim head half the topic's reports. A telling
        # name below still counts.
        shared = found.marks.intersection(member.marks)
        if any(not m.startswith(_COMMON_MARKS) for m in shared):
            return True
        if found.dates.intersection(member.dates):
            return True
        if self.words.rare_figures(found.figures).intersection(member.figures):
            return True
        mine = self.comparable(found.terms, found.names, True)
        theirs = self.comparable(member.terms, member.names, True)
        return any(t[0] not in "=#@" and self.telling(t) for t in mine & theirs)

    def wide_shared(self, found: Specifics, head: Member) -> int:
        """Count the specific terms two reports share over their first `WIDE_WORDS` words."""
        theirs = frozenset(head.terms) | frozenset(head.extra)
        return sum(1 for t in (found.terms | found.extra) & theirs if self.telling(t))

    def comparable(
        self, terms: Collection[str], names: Collection[str], across: bool
    ) -> frozenset[str]:
        """The terms to compare: all of them, or across languages only the crossable ones."""
        if not across:
            return terms if isinstance(terms, frozenset) else frozenset(terms)
        capitalised = frozenset(names)
        return frozenset(t for t in terms if self.words.crossable(t, t in capitalised))

    def conflict(self, found: Specifics, head: Member) -> str:
        """Say why two reports cannot be one event: their rare figures, their dates, the
        weekdays of their leads or what their headlines say happened disagree entirely."""
        mine = self.words.rare_figures(found.figures)
        theirs = self.words.rare_figures(head.figures)
        if mine and theirs and not mine & theirs:
            return "different figures"
        if found.dates and head.dates and not found.dates & frozenset(head.dates):
            return "different dates"
        if found.weekdays and head.weekdays and not found.weekdays & frozenset(head.weekdays):
            return "different days"
        clashing = clash(found.marks, head.marks, (found.repeats, head.repeats))
        if clashing:
            return clashing
        if _new_count(found.headline, found.figures, head.terms, head.extra) or _new_count(
            head.headline, head.figures, found.terms, found.extra
        ):
            return "a figure in one headline, not in the other report"  # a toll raised to 350
        absent = _absent(found.marks, head.people) or _absent(head.marks, found.people)
        return f"{absent} in one headline, not in the other report" if absent else ""


# Headline marks half the topic's headlines carry (story_marks): who, "again", whose envoy
# (Russia's, North Korea's). Shared, they say little about the event.
_COMMON_MARKS = ("person:", "note:", "envoy:", "subject:")
# ... and the marks that name no event of their own: those, and which arms.
_NO_EVENT_MARKS = (*_COMMON_MARKS, "arms:")
# The two leaders, whom half the topic's headlines name together.
_LEADERS = frozenset({"person:putin", "person:kimjongun"})


def beyond_the_leaders(marks: Collection[str]) -> bool:
    """Whether a headline's marks name someone besides the two leaders: two headlines naming the
    same people (`Evidence.same_people`) name one meeting when they do ("Putin empfängt Choe",
    "Putin receives Choe"), and one of the leaders' many exchanges otherwise ("Putin schenkt
    Kim eine Limousine", "Putin and Kim sign the treaty")."""
    return any(m.startswith("person:") and m not in _LEADERS for m in marks)


def _same_state(term: str, other: Collection[str], people: Collection[str]) -> bool:
    """Whether `term` names a third state that one of the `other` terms names too, or one of
    the other report's `people` (person marks) speaks for."""
    state = state_of(term)
    if state is None:
        return False
    spoken_for = with_states({person.partition(":")[2] for person in people})
    return state in spoken_for or any(state_of(t) == state for t in other)


def _new_figure(headline: Collection[str], other: Collection[str]) -> bool:
    """Whether a headline gives a figure the other report never mentions."""
    return any(t[0] == "#" and t not in other for t in headline)


def _new_count(
    headline: Collection[str],
    figures: Collection[str],
    lead: Collection[str],
    wider: Collection[str],
) -> bool:
    """Whether a headline gives a figure of 100 or more (not a year) the other report never
    mentions in its lead or `wider` words; small numbers ("Vier Tote", "(2)") are left to the
    other vetoes."""
    return any(t in figures and t not in lead and t not in wider for t in headline if t[0] == "#")


def _absent(marks: Collection[str], people: Collection[str]) -> str:
    """A person a headline names (`marks`) that the other report never names, or ""."""
    absent = (m for m in marks if m.startswith("person:") and m not in people)
    return next(absent, "").partition(":")[2]
