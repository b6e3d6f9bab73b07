"""Place each alerted article in a story: the same report again, a follow-up, or a new story.

"The same report" only edits an earlier message, and Telegram does not notify edits, so it needs
evidence about the *event*, not the topic (every report on a topic shares its vocabulary):

1. Near-duplicates (`story_copies.py`): MinHash over word 3-shingles of the text,
   looked up in a MinHash LSH index (datasketch) at Jaccard 0.5: agency copy republished under
   a new headline, the same report when the leads also share a specific term and it came within
   `SAME_HOURS`. When its figures or dates contradict the copy (see 3) it is a follow-up: an
   update with a new toll. Two reports that share only a background paragraph go on to 2.
2. Otherwise the article's lead is reduced to its specifics (`specifics.py`: names, figures,
   dates and event words in one vocabulary for German and English) and compared with the
   *first report* of each story in the window only, never with later members, so a story
   cannot grow by a chain of weak links. Terms are weighted by their rarity in the window
   (inverse document frequency over every article seen, alerted or not).
   A German and an English report can only share names, figures, dates and concepts, so across
   languages both sides count only such terms: the concepts, figures and dates, and the words
   the window has seen in both languages (names: Kharkiv/Charkiw, Lavrov/Lawrow), or only ever
   capitalised and too rare to tell. Otherwise every German word an English report cannot
   contain would count against the pair; but a new name (Minsk) still counts, or "Choe leaves
   Moscow for Minsk" would look contained in "Lavrov hosts Choe in Moscow".
3. The same report: a weighted overlap of at least `SAME_STORY` (`SAME_ACROSS` across
   languages, `SAME_ACROSS_HEADLINES` when the two headlines share a telling name or event
   word, or the same two or more people and no one else, not only Putin and Kim, and name no
   one the other report never mentions) with a shared telling term (rare,
   and not one of the topic's own words; see `story_evidence.py`, which also asks the
   headlines to agree in one language and the two reports to share a name, date, figure or
   headline mark across languages), or, for two long reports, `WIDE_SHARED` telling terms in
   common; no contradicting figures, dates, weekdays or headline marks (`story_marks.py`: sent
   vs withdrawn, Belgorod vs Zaporizhzhia, Putin vs Lavrov); published within `SAME_HOURS` of
   the story's first report. Only figures rare in the window can contradict: the stock
   background figure every report repeats says nothing.
4. A follow-up: weaker agreement (`RELATED`) with at least one shared specific term. It opens a
   story of its own (later reports of it edit its message) and replies to the story it
   continues. When unsure between the two, the rule notifies: a needless reply costs a glance,
   a swallowed report a missed event.
5. Anything else starts a new story.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from monitor.specifics import Specifics, specifics
from monitor.story_copies import Copies, shingle_signature
from monitor.story_decision import Assignment
from monitor.story_evidence import Evidence, Member, across_languages, beyond_the_leaders
from monitor.story_words import WordWindow

if TYPE_CHECKING:
    from datasketch import MinHash

SAME_STORY = 0.52
SAME_ACROSS = 0.55
# Across languages, a lower overlap suffices when the two headlines share a telling name or
# event word (Duma, veto, a reactor), not a figure, or the same people and no one else, not only
# the two leaders ("Putin empfängt Choe", "Putin receives Choe"): they name one happening.
SAME_ACROSS_HEADLINES = 0.40
# A near-duplicate is the same report only when the leads agree this much too: two reports can
# share a long background paragraph and still tell two events.
COPY_LEAD = 0.4
RELATED = 0.18
# Or: two long reports sharing this many specific terms over their first `WIDE_WORDS` words
# (a joint statement retold), with at least `WIDE_SCORE`.
WIDE_SHARED = 25
WIDE_SCORE = 0.2
# Each figure rare in the window (of 100 or more, not a year) both reports give adds this to the
# score, twice at most: the stock figure every report repeats adds nothing.
FIGURE_BONUS = 0.2
SAME_HOURS = 12.0
# Only the article's rarest terms are looked up; common ones would make every story a candidate.
LOOKUP_TERMS = 24
# Of the stories sharing those terms, only the ones sharing most are scored.
MAX_CANDIDATES = 40
# Of a term's stories, only the newest are looked up: a term in thousands of stories would
# cost more to count than all the rest, and the newest are the ones a report can be the same as.
RECENT_HEADS = 256
WINDOW = timedelta(hours=72)


@dataclass(slots=True)
class StoryIndex:
    """The alerted articles of the last `window`, ready to tell which story a new one joins."""

    window: timedelta = WINDOW
    _members: dict[str, Member] = field(default_factory=dict)
    _heads: dict[str, str] = field(default_factory=dict)  # story -> key of its first report
    _postings: dict[str, list[str]] = field(default_factory=dict)  # term -> head keys
    _titles: dict[str, str] = field(default_factory=dict)  # head key -> title, for people
    words: WordWindow = field(default_factory=WordWindow)
    copies: Copies = field(default_factory=Copies)
    evidence: Evidence = field(init=False)

    def __post_init__(self) -> None:
        self.evidence = Evidence(self.words, self._postings, self._heads)

    def observe(self, found: Specifics, at: datetime) -> None:
        """Count an article's terms towards the window's document frequencies."""
        self.words.observe(found, at)

    def observe_text(self, title: str, text: str, at: datetime) -> None:
        """Count an article that alerts nobody towards the window's word frequencies."""
        self.observe(specifics(title, text), at)

    def assign(
        self, key: str, found: Specifics, signature: MinHash | None, at: datetime
    ) -> Assignment:
        """Decide which story the article joins (without adding it; see `add`)."""
        sides: dict[bool, tuple[frozenset[str], float]] = {}  # the article's side, per language
        copy = self.copies.nearest(signature)
        if copy is not None:
            placed = self._as_copy(key, found, sides, copy, at)
            if placed is not None:
                return placed
        best: tuple[float, str, tuple[str, ...], str] | None = None
        for head in self._candidates(found.terms):
            member = self._members[head]
            score, shared, conflict = self._compare(found, self._side(found, member, sides), member)
            if best is None or score > best[0]:
                best = (score, head, shared, conflict)
        if best is None:
            return Assignment(key, "new", 0.0)
        score, head, shared, conflict = best
        member = self._members[head]
        across = across_languages(found.lang, member.lang)
        hours = abs((at - member.at).total_seconds()) / 3600
        telling = any(map(self.evidence.telling, shared))
        strong, needed_reason = self._strong(found, member, score, telling, copy is None)
        if strong and not conflict and hours <= SAME_HOURS:
            return Assignment(member.story, "same", score, False, head, None, shared, "", across)
        if score >= RELATED and shared:
            reason = conflict or (f"{hours:.0f} h later" if strong else needed_reason)
            return Assignment(
                key, "followup", score, False, head, member.story, shared, reason, across
            )
        reason = f"too little in common (needs {RELATED:.2f} and a specific term)"
        return Assignment(key, "new", score, False, head, None, shared, reason, across)

    def _strong(
        self, found: Specifics, member: Member, score: float, telling: bool, retold: bool
    ) -> tuple[bool, str]:
        """Whether the agreement is strong enough for "the same report", and if not, why.
        `retold` is False when a paragraph is shared word for word (a near-duplicate judged
        background): its terms must not count as a statement retold."""
        across = across_languages(found.lang, member.lang)
        needed = SAME_ACROSS if across else SAME_STORY
        people = self.evidence.same_people(found, member)
        meeting = people and beyond_the_leaders(found.marks)
        if across and (meeting or self.evidence.headlines_share(found, member)):
            needed = SAME_ACROSS_HEADLINES
        strong, reason = score >= needed and telling, f"needs {needed:.2f}"
        if score >= needed and not telling:
            strong, reason = people, "they share only the topic's words"
        if strong and not across and not self.evidence.agree(found, member):
            strong, reason = False, "their headlines share nothing telling"
        if strong and across and not (people or self.evidence.across(found, member)):
            strong, reason = False, "no shared name, rare figure, date or headline mark"
        if not strong and score >= WIDE_SCORE and retold:
            strong = self.evidence.wide_shared(found, member) >= WIDE_SHARED
        return strong, reason

    def _as_copy(
        self,
        key: str,
        found: Specifics,
        sides: dict[bool, tuple[frozenset[str], float]],
        copy: str,
        at: datetime,
    ) -> Assignment | None:
        """Place a near-duplicate of `copy`: the same report if their leads and headlines agree
        too and it came within `SAME_HOURS`, a follow-up if their figures or dates contradict
        (an update), else None: the shared text is background, and the leads decide."""
        member = self._members[copy]
        story, head = member.story, self._heads.get(member.story, copy)
        score, shared, conflict = self._compare(found, self._side(found, member, sides), member)
        if conflict:
            return Assignment(key, "followup", score, True, head, story, shared, conflict)
        hours = abs((at - member.at).total_seconds()) / 3600
        if (
            hours <= SAME_HOURS
            and score >= COPY_LEAD
            and any(map(self.evidence.telling, shared))
            and self.evidence.agree(found, member)
        ):
            return Assignment(story, "same", score, True, head, None, shared)
        return None

    def _side(
        self, found: Specifics, member: Member, sides: dict[bool, tuple[frozenset[str], float]]
    ) -> tuple[frozenset[str], float]:
        """The article's terms to compare with `member`, and their weight (cached per language)."""
        across = across_languages(found.lang, member.lang)
        if across not in sides:
            terms = self.evidence.comparable(found.terms, found.names, across)
            sides[across] = terms, sum(map(self.words.idf, terms))
        return sides[across]

    def add(
        self,
        key: str,
        story: str,
        found: Specifics,
        signature: MinHash | None,
        at: datetime,
        title: str = "",
    ) -> None:
        """Make an alerted article a member of `story`, findable by later articles."""
        if key in self._members:
            return
        if story not in self._heads:
            self._titles[key] = title[:120]
        head = story not in self._heads
        self._members[key] = Member(
            story,
            tuple(found.terms),
            tuple(found.extra),
            tuple(found.figures),
            tuple(found.dates),
            tuple(found.weekdays),
            tuple(found.names),
            tuple(found.marks),
            tuple(found.headline),
            tuple(found.people),
            found.repeats,
            tuple(found.nouns),
            found.lang,
            at,
            head,
        )
        if head:
            self._heads[story] = key
            for term in found.terms:
                self._postings.setdefault(term, []).append(key)
        if signature is not None:
            self.copies.add(key, signature)

    def expire(self, now: datetime) -> int:
        """Forget members and term counts older than the window; return members dropped."""
        cutoff = now - self.window
        self.words.expire(cutoff)
        old = []
        for key, member in self._members.items():  # in insertion order, so oldest first
            if member.at >= cutoff:
                break
            old.append(key)
        gone = set(old)
        for key in old:
            self._drop(key, gone)
        return len(old)

    def _drop(self, key: str, gone: set[str]) -> None:
        member = self._members.pop(key)
        if member.head:
            if self._heads.get(member.story) == key:
                del self._heads[member.story]
            self._titles.pop(key, None)
            for term in member.terms:
                posting = self._postings.get(term)
                if posting is None:
                    continue
                keep = 0
                while keep < len(posting) and posting[keep] in gone:  # the oldest keys lead
                    keep += 1
                del posting[:keep]
                if not posting:
                    del self._postings[term]
        self.copies.remove(key)

    def titles(self) -> dict[str, str]:
        """The titles of the stories' first reports, by key (to explain decisions)."""
        return self._titles

    def __len__(self) -> int:
        return len(self._members)

    def _compare(
        self, found: Specifics, side: tuple[frozenset[str], float], head: Member
    ) -> tuple[float, tuple[str, ...], str]:
        """Score an article against a story's first report: (score, shared specifics, conflict).

        `side` is the article's comparable terms and their weight (see `_comparable`). The
        score is the IDF-weighted overlap of the two term sets, normalised by the smaller
        set's weight (a short agency report of an event is contained in a long one).
        """
        mine, mine_weight = side
        theirs = self.evidence.comparable(
            head.terms, head.names, across_languages(found.lang, head.lang)
        )
        both = mine & theirs
        if not both:
            return 0.0, (), ""
        their_weight = sum(map(self.words.idf, theirs))
        smaller = min(mine_weight, their_weight)
        if smaller <= 0:
            return 0.0, (), ""
        overlap = sum(map(self.words.idf, both))
        union = mine_weight + their_weight - overlap
        score = 0.5 * overlap / smaller + 0.5 * overlap / union
        rare = self.words.rare_figures(found.figures) & frozenset(head.figures)
        score += FIGURE_BONUS * min(2, len(rare))
        specific = (t for t in both if self.words.specific(t))
        shared = tuple(sorted(specific, key=lambda t: (self.words.count(t), t)))
        return score, shared, self.evidence.conflict(found, head)

    def _candidates(self, terms: Iterable[str]) -> list[str]:
        """Return the story heads sharing most of the article's rarest terms."""
        shared: Counter[str] = Counter()
        used = 0
        for term in sorted(terms, key=lambda term: self.words.count(term)):
            posting = self._postings.get(term)
            if not posting:
                continue
            shared.update(posting[-RECENT_HEADS:])
            used += 1
            if used == LOOKUP_TERMS:
                break
        return [key for key, _ in shared.most_common(MAX_CANDIDATES)]


def place(index: StoryIndex, key: str, title: str, text: str, at: datetime) -> Assignment:
    """Count an alerted article towards the window and place it in a story (the service's path)."""
    found = specifics(title, text)
    index.observe(found, at)
    signature = shingle_signature(f"{title}\n{text}")
    placed = index.assign(key, found, signature, at)
    index.add(key, placed.story, found, signature, at, title)
    return placed
