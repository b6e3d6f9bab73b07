"""What an article says about its event, in one vocabulary for German and English.

The story rule (stories.py) compares reports by what they say about the event. Two reports of
one event in two languages share little text, but they share its specifics: names (spelled
Pjöngjang or Pyongyang, Schoigu or Shoigu), figures (12.000, 12,000 or 12 000), dates (3. März,
March 3) and the words for what happened (Soldaten/troops, Raketen/missiles, Pakt/pact). This
module reduces an article's lead to such terms:

- every word is folded (case, umlauts, ß) and spelled by one transliteration key (w->v, j/y->i,
  sch/sh/zh->s, ch/kh->h, soft c->s, doubled letters once), then cut to a stem;
- words of the domain map to one concept across the two languages (`_CONCEPT_LINES`), and a
  two-word name ("North Korea", "foreign minister") to its concept alone;
- figures become `#12000`, written-out small numbers included; dates become `@03-03` and
  weekdays `@tue`;
- the article's language (German or English, by its commonest short words) is kept, because two
  reports in two languages can only share names, figures, dates and concepts: the story rule
  compares them on those alone.
"""

from __future__ import annotations

import collections
import functools
import itertools
import re
import sys
from dataclasses import dataclass, field

from monitor.agency_style import untagged, written_out
from monitor.common_nouns import common_noun
from monitor.query import fold
from monitor.spelling import spell
from monitor.story_marks import marks, people, repeats

LEAD_WORDS = 60
# Words after the lead still count as evidence when two long reports share many of them.
WIDE_WORDS = 200
STEM_CHARS = 6
# A text needs this many of one language's commonest words to be told German or English.
LANGUAGE_EVIDENCE = 2
# Longer figures are no figures (and would overflow a float).
FIGURE_DIGITS = 15

_TOKEN = re.compile(
    r"[A-Za-z]{1,4}-\d+"  # KN-23, Il-76, Su-27: one term
    r"|\d+(?:[.,\u202f\u00a0 ]\d{3})+(?![\d])"  # 12.000 / 12,000 / 12 000
    r"|\d+(?:[.,]\d+)?"
    r"|\w+"
)

_MONTHS = {
    "januar": 1, "january": 1, "jan": 1, "februar": 2, "february": 2, "feb": 2, "marz": 3,
    "march": 3, "april": 4, "apr": 4, "mai": 5, "may": 5, "juni": 6, "june": 6, "juli": 7,
    "july": 7, "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9, "oktober": 10,
    "october": 10, "oct": 10, "okt": 10, "november": 11, "nov": 11, "dezember": 12,
    "december": 12, "dec": 12, "dez": 12,
}  # fmt: skip
_WEEKDAYS = {
    "montag": "mon", "monday": "mon", "dienstag": "tue", "tuesday": "tue", "mittwoch": "wed",
    "wednesday": "wed", "donnerstag": "thu", "thursday": "thu", "freitag": "fri",
    "friday": "fri", "samstag": "sat", "sonnabend": "sat", "saturday": "sat", "sonntag": "sun",
    "sunday": "sun",
}  # fmt: skip
_NUMBER_WORDS = {
    "zwei": 2, "two": 2, "drei": 3, "three": 3, "vier": 4, "four": 4, "funf": 5, "five": 5,
    "sechs": 6, "six": 6, "sieben": 7, "seven": 7, "acht": 8, "eight": 8, "neun": 9,
    "nine": 9, "zehn": 10, "ten": 10, "elf": 11, "eleven": 11, "zwolf": 12, "twelve": 12,
    "zwanzig": 20, "twenty": 20, "dreissig": 30, "thirty": 30, "hundert": 100,
    "hundred": 100, "tausend": 1000, "thousand": 1000, "dutzend": 12, "dozen": 12,
}  # fmt: skip
# The words arrive folded ("Tuesday" becomes "tusday", as "ue" is read as "ü"), so the tables
# are looked up in folded spelling too.
_MONTHS = {fold(word): month for word, month in _MONTHS.items()}
_WEEKDAYS = {fold(word): day for word, day in _WEEKDAYS.items()}
_NUMBER_WORDS = {fold(word): value for word, value in _NUMBER_WORDS.items()}
_SCALES = {"millionen": 10**6, "million": 10**6, "millions": 10**6, "mio": 10**6,
           "tausend": 10**3, "thousand": 10**3, "milliarden": 10**9, "milliarde": 10**9,
           "mrd": 10**9, "billion": 10**9, "billions": 10**9, "bn": 10**9}  # fmt: skip

# One concept per line: its name, then the stems (after folding and transliteration) of the
# German and English words for it. A stem matches words that start with it.
_CONCEPT_LINES = """
troops: soldat truppe troop soldier kampfer fighter infanter kontingent contingent
officer: offizier officer
army: armee army streitkraft forces
thousands: tausende thousands
people: menschen people
city: stadt city
official: beamte officials vertreter
governor: gouverneur governor
president: prasident president
foreignminister: aussenminist
defenceminister: verteidigungsminist
parliament: parlament parliament abgeordnet lawmaker
statement: erklarung statement
ceremony: zeremonie ceremony
coffin: sarg sarge coffin
remains: uberreste remains leichen bodies
hospital: krankenhaus klinik lazarett hospital
agency: agentur agency
village: dorf dorfer village
warehouse: lagerhalle warehouse lager depot
weapons: waffe weapon
attack: offensive assault sturm vorstoss
repelled: abgewehrt repelled repulsed
arrived: eingetroffen angekommen arrived arrive
returned: heimgekehrt ruckkehr zuruckgekehrt returned returning
abstain: enthalt abstain
vote: abstimmung vote voted
report2: bericht report
video: video
interview: interview befragt
plant: fabrik werk factory plant
production: produktion production
delivery: lieferung liefert deliver shipment
missile: rakete missil ballist
shell: granat shell munition ammunition geschoss artiller projectil
launcher: werfer launcher
killed: getotet tote toten killed kill dead death gefallen
wounded: verletz verwund wound injur
captured: gefangen captur prisoner kriegsgef
exchange: austausch exchange swap
treaty: vertrag pakt pact treaty abkomm agreement
ratify: ratifi
meeting: treffen traf meet talks gesprach verhand negotiat
visit: besuch visit reise trip
phone: telefon phone
sanction: sanktion sanction
ship: schiff frachter ship vessel tanker hafen
train: zug zuge waggon wagon rail bahn train
strike: angriff attack strike beschuss einschlag
drone: drohne drone
satellite: satellit
submarine: uboot submarine
airdefence: luftabwehr flugabwehr
airforce: luftwaffe
statemedia: staatsmedien staatsagentur staatsfernsehen
border: grenze border
veto: veto
resolution: resolution entwurf draft
council: sicherheitsrat council
ambassador: botschafter ambassador envoy
summon: einbestell summon
medal: orden medal auszeich ausgezeichnet decorat award ehrt honour honor
hero: helden hero
intelligence: geheimdienst intelligence nis
staff: generalstab chiefs jcs
condemn: verurteil condemn
warn: warn
investigate: untersuch investig
children: kinder child
housing: wohnhaus wohnblock apartment residential building gebaude
reinforce: verstark reinforc
deploy: entsandt entsend verleg deploy dispatch schickt schicke send sent
training: ausbild training train
rotate: rotation
ceasefire: waffenruhe waffenstillstand ceasefire
nuclear: nuklear nuclear atom
aircraft: flugzeug aircraft
engineer: pionier engineer sapper bautrupp minenraum
worker: arbeiter worker labour labor
oil: erdol oil petrol
fuel: treibstoff fuel diesel
northkorea: nordkorea dprk dvrk pjongjang pyongyang northkorea
russia: russland russisch russia moskau moscow kreml
ukraine: ukrain
kyiv: kiew kiev kyiv
southkorea: sudkorea southkorea seoul
china: china chines peking
japan: japan tokio tokyo
usa: usa americ amerik washington
un: uno vereint
""".strip().splitlines()


def _concepts() -> dict[str, str]:
    table: dict[str, str] = {}
    for line in _CONCEPT_LINES:
        name, stems = line.split(":")
        for stem in stems.split():
            table[spell(fold(stem))] = f"={name}"
    return table


_TWO_WORD = {
    "north korea": "northkorea", "north korean": "northkorea", "south korea": "southkorea",
    "south korean": "southkorea", "foreign minister": "foreignminister",
    "defence minister": "defenceminister", "defense minister": "defenceminister",
    "air force": "airforce", "state media": "statemedia",
    "united states": "usa", "united nations": "un", "vereinte nationen": "un",
    "security council": "council", "air defence": "airdefence", "air defense": "airdefence",
    "kim jong": "kim",
}  # fmt: skip

_STOP_WORDS = """
    der die das den dem des ein eine einer eines einem einen und oder aber nicht auch noch nur
    schon sich sie er es wir ihr ich man mit von vom zu zum zur im in an am auf aus bei nach
    seit fur uber unter vor hinter durch gegen ohne um als wie wenn dass so da dort hier ist
    sind war waren wird werden wurde wurden hat haben hatte hatten sei seien habe konne soll
    sollen sollte sein seine seiner seinen seinem ihre ihren ihrem ihrer dies diese dieser
    dieses diesen jede jeder jedes mehr sehr bis etwa rund laut nun bereits inzwischen
    demnach zudem dabei damit dazu sowie beiden beide ersten erste erstmals heute gestern
    sagte sagt hiess teilte mit mitteilte angaben nach zufolge weitere weiteren neue neuen the
    a an and or not of to in on at for from by with as is are was were be been has have had it
    its that this these those which who said says will would could may should their they he
    she his her than then also after before over about into out up more according new other
    some last first one while since its there what when where how all any most such only own
    nach worden hatte wegen unter sowohl ob """
_STOP = frozenset(_STOP_WORDS.split())
# Words common in one language and (nearly) absent from the other: enough to tell the two apart.
_GERMAN_WORDS = """der die das und ist nicht mit von den dem des sich auf eine einer im zu nach
    bei sind hat wurde wurden soll haben aus ein"""
_ENGLISH_WORDS = "the and is of to with from that by was were has have its on says said after"
_GERMAN = frozenset(_GERMAN_WORDS.split())
_ENGLISH = frozenset(_ENGLISH_WORDS.split())


@dataclass(frozen=True, slots=True)
class Specifics:
    """An article's lead as terms, and the figures and dates among them."""

    terms: frozenset[str]  # from the title and lead (`LEAD_WORDS`)
    extra: frozenset[str]  # further terms from the words after the lead (to `WIDE_WORDS`)
    figures: frozenset[str]  # `#3000`: figures of 100 and more that are not years
    dates: frozenset[str]  # `@03-03`: calendar dates
    weekdays: frozenset[str] = frozenset()  # `@tue`: weekdays named in the title and lead
    names: frozenset[str] = frozenset()  # lead terms only ever capitalised: names or nouns
    lang: str = ""  # "de", "en", or "" when too short to tell
    marks: frozenset[str] = frozenset()  # what the headline says happened, where (story_marks)
    headline: frozenset[str] = frozenset()  # the terms of the title alone
    people: frozenset[str] = frozenset()  # the people (story_marks) named in title and lead
    repeats: bool = False  # its first `WIDE_WORDS` say the event happened before (story_marks)
    # Headline terms capitalised but naming no new actor: German common nouns, office words
    nouns: frozenset[str] = frozenset()


_CONCEPT_OF = _concepts()
_PREFIX_LENGTHS = sorted({len(prefix) for prefix in _CONCEPT_OF}, reverse=True)


def _concept(key: str) -> str | None:
    """The concept whose longest stem starts `key` (a stem of 3 letters only for short words)."""
    for length in _PREFIX_LENGTHS:
        concept = _CONCEPT_OF.get(key[:length]) if len(key) >= length else None
        if concept is not None and (length > 3 or len(key) <= length + 2):
            return concept
    return None


@functools.lru_cache(maxsize=65536)
def _term(word: str) -> str:
    """The term of one folded word: its concept, or its spelled stem (words repeat: cached)."""
    key = spell(word.replace("-", ""))
    return sys.intern(_concept(key) or key[:STEM_CHARS])


def specifics(title: str, text: str) -> Specifics:
    """Reduce the article's title and lead to terms, figures and dates (see the module doc)."""
    title = written_out(untagged(title))  # "N. Korea" is North Korea, "U.S." the USA
    opening = written_out(_opening(text))
    words = [m.group() for m in _TOKEN.finditer(f"{title}\n{opening}")][:WIDE_WORDS]
    folded = [fold(w) for w in words] + [""]  # a blank after the last word: no look-ahead checks
    found = _Found(set(), set(), set(), set())
    lead: frozenset[str] = frozenset()
    title_words = sum(1 for _ in itertools.islice(_TOKEN.finditer(title), WIDE_WORDS))
    headline: frozenset[str] | None = None
    paired = False  # the word was the second of a two-word concept
    for i, word in enumerate(folded[:-1]):
        if i == LEAD_WORDS:
            lead = frozenset(found.terms)
        if i == title_words:
            headline = frozenset(found.terms)
        following = folded[i + 1]
        if f"{word} {following}" in _TWO_WORD:
            found.terms.add(f"={_TWO_WORD[f'{word} {following}']}")
            paired = True  # "North Korea": the concept, not "north" and "korea" as well
            continue
        if paired:
            paired = False
            continue
        if found.figure_or_date(word, following):
            continue
        found.word(word, words[i][0].islower(), i < title_words)
    if len(words) <= LEAD_WORDS:
        lead = frozenset(found.terms)
    return Specifics(
        lead,
        frozenset(found.terms) - lead,
        frozenset(found.figures),
        frozenset(found.dates),
        frozenset(t for t in lead if t in _WEEKDAY_TERMS),
        frozenset(t for t in lead if t[0] not in "=#@" and t not in found.plain),
        (lang := _language(folded)),
        marks(title, lang),
        frozenset(found.terms) if headline is None else headline,
        people(words),
        repeats(folded),
        frozenset(found.nouns),
    )


def _opening(text: str) -> str:
    """The text up to some words past the `WIDE_WORDS` read: the rest is never read, and a page
    can be megabytes long."""
    last = collections.deque(itertools.islice(_TOKEN.finditer(text), WIDE_WORDS + _MARGIN_WORDS), 1)
    return text[: last[0].end()] if last else text


# Words read past `WIDE_WORDS` before the agencies' abbreviations are written out ("U.S." is two
# words before and one after).
_MARGIN_WORDS = 50


_WEEKDAY_TERMS = frozenset(f"@{day}" for day in _WEEKDAYS.values())


def _language(folded: list[str]) -> str:
    """German or English, by which language's commonest words the text uses more; "" when it
    has too few of them to tell (a headline without its text)."""
    german = sum(1 for word in folded if word in _GERMAN)
    english = sum(1 for word in folded if word in _ENGLISH)
    if max(german, english) < LANGUAGE_EVIDENCE or german == english:
        return ""
    return "en" if english > german else "de"


@dataclass(slots=True)
class _Found:
    """The terms, figures and dates found so far in one article."""

    terms: set[str]
    figures: set[str]
    dates: set[str]
    plain: set[str]  # terms of words written in lower case somewhere: a language's words
    nouns: set[str] = field(default_factory=set)  # the title's capitalised common nouns

    def figure_or_date(self, word: str, following: str) -> bool:
        """Count a figure or a date's month; True when the word is a figure and no word."""
        if word[0].isdigit():
            self.number(word, following)
            return True
        if word in _MONTHS and following.isdigit() and len(following) <= 2:
            self.date(_MONTHS[word], int(following))
        elif word in _NUMBER_WORDS and following in _SCALES:
            # "elf Millionen" is "11 million": a term (so a headline's 11 million is not new
            # to it), not a figure (the stock 12 million shells would become a rare figure).
            self.terms.add(f"#{_NUMBER_WORDS[word] * _SCALES[following]}")
        return False

    def number(self, word: str, following: str) -> None:
        value = _figure(word, following)
        self.terms.add(f"#{value}")
        if value >= 100 and not 1990 <= value <= 2035:
            self.figures.add(f"#{value}")
        if following in _MONTHS and "." not in word.rstrip("."):  # 3. März, 3 March
            self.date(_MONTHS[following], value)

    def date(self, month: int, day: int) -> None:
        if 1 <= day <= 31:
            self.dates.add(f"@{month:02d}-{day:02d}")
            self.terms.add(f"@{month:02d}-{day:02d}")

    def word(self, word: str, lower: bool, in_title: bool) -> None:
        if word in _WEEKDAYS:
            self.terms.add(f"@{_WEEKDAYS[word]}")
        elif word in _NUMBER_WORDS:
            self.terms.add(f"#{_NUMBER_WORDS[word]}")
        elif len(word) >= 2 and word not in _STOP:
            if not lower and 4 <= len(word) <= STEM_CHARS and word[-1] == "s":
                word = word[:-1]  # a short name's genitive ("Putins"): the name's own term
            term = _term(word)
            self.terms.add(term)
            if lower:
                self.plain.add(term)
            elif in_title and term[0] != "=" and common_noun(word):
                self.nouns.add(term)


def _figure(word: str, following: str) -> int:
    if re.fullmatch(r"\d+(?:[.,\u202f\u00a0 ]\d{3})+", word):
        digits = re.sub(r"\D", "", word)
        return int(digits) if len(digits) <= FIGURE_DIGITS else 0
    whole, _, fraction = word.replace(",", ".").partition(".")
    if len(whole) > FIGURE_DIGITS:
        return 0
    scale = _SCALES.get(following, 1)
    if not fraction and whole.isdigit() and 1990 <= int(whole) <= 2035:
        scale = 1  # "seit 2023 Millionen Schuss": a year, then the figure's own words
    try:
        return int(float(f"{whole}.{fraction or 0}") * scale)
    except (ValueError, OverflowError):
        return 0
