"""Group alerted articles into stories: near-duplicate fingerprints and the story rule.

Two layers on top of entry identity (`dedup.py`), both over a sliding time window:

1. Near-duplicates: MinHash over word 3-shingles of the whole text, looked up in a MinHash LSH
   index (datasketch) at Jaccard 0.5. Agency copy republished with a new headline or intro and
   the same article in two feeds land here.
2. Stories: reports written independently share few shingles, so each article is also reduced to
   its lead terms (title and first words, folded, stop words dropped, cut to a 5-letter stem,
   numbers kept whole) and compared with the stories' members by IDF-weighted Jaccard. The
   document frequencies come from every article seen in the window, so words every report on a
   topic repeats ("Nordkorea", "Russland") count for little and names and figures for much.

The rule (measured in bench/dedup): similarity >= SAME_STORY, or a near-duplicate, means the same
report again: the story's message is edited to add the source. RELATED <= similarity < SAME_STORY
with at least one shared rare term means a development of the story: a new alert, threaded as a
reply to the story's first message. Anything else starts a new story.
"""

from __future__ import annotations

import math
import re
import sys
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from datasketch import LeanMinHash, MinHash, MinHashLSH

from monitor.query import fold

Kind = Literal["new", "same", "followup"]

SAME_STORY = 0.17
RELATED = 0.07
NEAR_DUPLICATE = 0.5
LEAD_WORDS = 120
STEM_CHARS = 5
NUM_PERM = 64
# A term found in at most this share of the window's articles is rare enough to tie a
# follow-up to its story.
RARE_SHARE = 0.01
# Only the article's rarest terms are looked up; common ones would make every story a candidate.
LOOKUP_TERMS = 16
# Of the members sharing those terms, only the ones sharing most are scored.
MAX_CANDIDATES = 50
WINDOW = timedelta(hours=72)
# Pseudo-documents that contain none of the terms: with few articles seen (a fresh start) every
# term weighs about the same, and the weights only take shape as the window fills.
PRIOR_DOCUMENTS = 200

_TOKEN = re.compile(r"\d+(?:[.,]\d{3})+|\w+")
_WORDS = re.compile(r"\w+")
_STOP_WORDS = """
    der die das den dem des ein eine einer eines einem einen und oder aber nicht auch noch nur
    schon sich sie er es wir ihr ich man mit von vom zu zum zur im in an am auf aus bei nach
    seit fur uber unter vor hinter durch gegen ohne um als wie wenn dass so da dort hier ist
    sind war waren wird werden wurde wurden hat haben hatte hatten sei seien habe konne soll
    sollen sollte sein seine seiner seinen seinem ihre ihren ihrem ihrer dies diese dieser
    dieses diesen jede jeder jedes mehr sehr bis zwei drei etwa rund laut nun bereits inzwischen
    demnach zudem dabei damit dazu sowie beiden beide ersten erste erstmals heute gestern montag
    dienstag mittwoch donnerstag freitag samstag sonntag sagte sagt hiess teilte mit the a an
    and or not of to in on at for from by with as is are was were be been has have had it its
    that this these those which who said says will would could may should their they he she his
    her than then also after before over about into out up more
"""
_STOP = frozenset(_STOP_WORDS.split())


def lead_terms(title: str, text: str) -> frozenset[str]:
    """Return the article's lead as a set of stems: title and first words, no stop words."""
    terms: set[str] = set()
    for count, match in enumerate(_TOKEN.finditer(f"{title}\n{text}")):
        if count >= LEAD_WORDS:
            break
        word = match.group()
        if word[0].isdigit():
            terms.add(sys.intern(word.replace(".", "").replace(",", "")))
            continue
        folded = fold(word)
        if len(folded) >= 3 and folded not in _STOP:
            terms.add(sys.intern(folded[:STEM_CHARS]))  # one copy per term across the window
    return frozenset(terms)


def shingle_signature(text: str) -> MinHash:
    """Return the MinHash of the text's word 3-shingles (folded words)."""
    words = [fold(word) for word in _WORDS.findall(text)]
    shingles = {" ".join(words[i : i + 3]).encode() for i in range(max(1, len(words) - 2))}
    signature = MinHash(num_perm=NUM_PERM)
    signature.update_batch(list(shingles))
    return signature


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where an article belongs: its story, how it relates, and how sure the rule was."""

    story: str  # the key of the story's first article
    kind: Kind
    score: float
    near_duplicate: bool = False


@dataclass(slots=True)
class _Member:
    story: str
    terms: tuple[str, ...]  # a tuple is a quarter of a set's size; sets are built to compare
    at: datetime
    signature: LeanMinHash | None


@dataclass(slots=True)
class StoryIndex:
    """The alerted articles of the last `window`, ready to tell which story a new one joins."""

    window: timedelta = WINDOW
    _members: dict[str, _Member] = field(default_factory=dict)
    _postings: dict[str, list[str]] = field(default_factory=dict)  # ids in insertion order
    _df: Counter[str] = field(default_factory=Counter)
    _seen: deque[tuple[datetime, frozenset[str]]] = field(default_factory=deque)
    _lsh: MinHashLSH = field(
        default_factory=lambda: MinHashLSH(threshold=NEAR_DUPLICATE, num_perm=NUM_PERM)
    )

    def observe(self, terms: frozenset[str], at: datetime) -> None:
        """Count an article's terms towards the window's document frequencies."""
        self._df.update(terms)
        self._seen.append((at, terms))

    def assign(self, key: str, terms: frozenset[str], signature: MinHash | None) -> Assignment:
        """Decide which story the article joins (without adding it; see `add`)."""
        best_id, best = None, 0.0
        for candidate in self._candidates(terms):
            score = self.similarity(terms, frozenset(self._members[candidate].terms))
            if score > best:
                best_id, best = candidate, score
        copy = self._near_duplicate(signature)
        if copy is not None:
            return Assignment(self._members[copy].story, "same", 1.0, near_duplicate=True)
        if best_id is not None and best >= SAME_STORY:
            return Assignment(self._members[best_id].story, "same", best)
        if (
            best_id is not None
            and best >= RELATED
            and self._shares_rare_term(terms, frozenset(self._members[best_id].terms))
        ):
            return Assignment(self._members[best_id].story, "followup", best)
        return Assignment(key, "new", best)

    def add(
        self,
        key: str,
        story: str,
        terms: frozenset[str],
        signature: MinHash | None,
        at: datetime,
    ) -> None:
        """Make an alerted article a member of `story`, findable by later articles."""
        if key in self._members:
            return
        lean = LeanMinHash(signature) if signature is not None else None  # no permutations kept
        self._members[key] = _Member(story, tuple(terms), at, lean)
        for term in terms:
            self._postings.setdefault(term, []).append(key)
        if lean is not None:
            self._lsh.insert(key, lean)

    def expire(self, now: datetime) -> int:
        """Forget members and term counts older than the window; return members dropped."""
        cutoff = now - self.window
        while self._seen and self._seen[0][0] < cutoff:
            _, terms = self._seen.popleft()
            for term in terms:
                self._df[term] -= 1
                if self._df[term] <= 0:
                    del self._df[term]
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
        if member.signature is not None:
            self._lsh.remove(key)

    def __len__(self) -> int:
        return len(self._members)

    def similarity(self, a: frozenset[str], b: frozenset[str]) -> float:
        """IDF-weighted Jaccard of two lead-term sets, with the window's frequencies."""
        union = a | b
        if not union:
            return 0.0
        total = sum(self._idf(term) for term in union)
        shared = sum(self._idf(term) for term in a & b)
        return shared / total if total else 0.0

    def _idf(self, term: str) -> float:
        documents = len(self._seen) + PRIOR_DOCUMENTS
        return math.log((documents + 1) / (self._df[term] + 1))

    def _candidates(self, terms: Iterable[str]) -> list[str]:
        """Return the members sharing most of the article's rarest terms that members have."""
        shared: Counter[str] = Counter()
        used = 0
        for term in sorted(terms, key=lambda term: self._df[term]):
            posting = self._postings.get(term)
            if not posting:
                continue
            shared.update(posting)
            used += 1
            if used == LOOKUP_TERMS:
                break
        return [key for key, _ in shared.most_common(MAX_CANDIDATES)]

    def _near_duplicate(self, signature: MinHash | None) -> str | None:
        if signature is None or not self._members:
            return None
        best_id, best = None, NEAR_DUPLICATE
        for key in self._lsh.query(signature):
            other = self._members[key].signature
            if other is not None and (score := signature.jaccard(other)) >= best:
                best_id, best = key, score
        return best_id

    def _shares_rare_term(self, a: frozenset[str], b: frozenset[str]) -> bool:
        limit = max(2.0, RARE_SHARE * len(self._seen))
        return any(self._df[term] <= limit for term in a & b)
