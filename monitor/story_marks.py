"""What a headline says happened, where, which other state acted, who and whose envoy: the marks
that tell two events apart when everything else about them agrees.

In a stream on one topic, two events can share every name, place and figure: North Korea
*sends* troops to Kursk one day and *withdraws* them the next; soldiers are *killed* or
*captured*; a treaty is *signed*, then *ratified*; Japan summons an envoy, then Germany does;
Lavrov receives a visiting minister one day, Putin the next.
The overlap score cannot tell them apart, so a headline's marks can veto "the same report":
when two headlines both name something of one kind (a troop movement, a fate, a treaty step, a
place of the war, a third state, a person of the cooperation) and share nothing of that kind,
they report two events.

Only the headline is read: a lead's background ("units withdrawn earlier") would veto reports
of one event. A mark is missed rather than guessed: a headline that names no kind vetoes nothing.
The first third state or person a headline names is also its actor (`subject:seoul`), which
story_clash.py compares: "Seoul will gefangene Nordkoreaner aufnehmen" is not Zelensky's video.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence

from monitor.agency_style import written_out
from monitor.query import fold
from monitor.spelling import spell, spelled_words
from monitor.story_envoys import ENVOYS, envoy
from monitor.story_plans import plan_at

# One alternative per line: its kind, its name, then the words for it, in German and English.
# A word ending in "*" matches every word it starts; the others match whole words only.
# Alternatives of one kind exclude each other in a headline of one event.
_MARK_LINES = """
movement deployed: entsand* entsend* schickt schicken geschickt verlegt* stationier* deploy*
    dispatch* send sends sending sent stationed eingetroffen angekommen arriv* ankunft
    verstark* reinforc*
movement withdrawn: abzug* abgezog* zuruckgezog* ruckzug* abzieh* withdra* pullout pull pulls
    pulled pulling pullback leave leaves leaving verlassen verlasst abgeruckt heimgekehrt*
    heimkehr* ruckkehr* zuruckgekehrt* return* heimgeholt
fate killed: getotet* tot tote toten gefallen gefallene gefallenen killed kill kills dead
    death deaths todesopfer
fate wounded: verwundet* verletzt* wounded injured injuries
fate captured: gefangen* kriegsgefang* captur* prisoner* pow pows festgenommen surrender*
fate defected: ubergelauf* uberlauf* defect* desert*
fate missing: vermisst* missing
fate losses: verlust* losses casualt* verloren
treaty signed: unterzeichn* unterschrieb* unterschreib* sign signs signed signing
treaty ratified: ratifi*
treaty inforce: inkraft intoforse
chamber duma: duma staatsduma
chamber federationcouncil: federationcouncil foderationsrat*
outcome failed: gescheitert fehlgeschlag* misslung* missgluckt* fail fails failed failure
    explodiert* explod* explosion
outcome succeeded: erfolgreich* success*
sanctions imposed: verhangt verhangen impose imposes imposed
sanctions extended: verlangert* extend*
sanctions lifted: aufgehoben lockert gelockert lift lifts lifted
resolution adopted: angenommen verabschiedet* beschliesst beschliessen beschlossen adopt adopts
    adopted
resolution agreed: einigen einigt geeinigt einigung* agree agrees agreed vereinbar*
resolution rejected: veto vetos vetoes vetoed blockiert blockieren abgelehnt reject rejects
    rejected
arms missiles: raket* missil* ballist*
arms shells: granat* artilleriegranat* artilleriemunition* shell shells
arms drones: drohne* drone*
arms airdefence: flugabwehr* luftabwehr*
tech submarine: uboot* submarin*
tech satellite: satellit* satellite*
tech nuclear: nuklear* nuclear atom*
tech aircraft: kampfjet* kampfflugzeug* fighter* mig
place kursk: kursk* sudscha* sudzha*
place belgorod: belgorod*
place bryansk: briansk* bryansk*
place zaporizhzhia: saporischschja* zaporizhzhia* saporoschje* zaporozhye*
place donetsk: donezk* donetsk* donbas*
place luhansk: luhansk* lugansk*
place kyiv: kiew* kyiv* kiev*
place kharkiv: charkiw* kharkiv* charkow* kharkov*
place kherson: cherson* kherson*
place mariupol: mariupol*
place melitopol: melitopol*
place kupiansk: kupiansk* kupjansk*
place sumy: sumy
place crimea: krim crimea*
place odesa: odessa* odesa*
place pokrovsk: pokrowsk* pokrovsk*
place vladivostok: wladiwostok* vladivostok*
place khabarovsk: chabarowsk* khabarovsk*
place rason: rason rajin
place wonsan: wonsan*
place nampo: nampo
place vostochny: wostotschny* vostochny*
state southkorea: sudkorea* southkorea* seoul*
state japan: japan* tokio tokyo
state usa: usa amerika* amerikan* america* washington
state china: china chines* peking
state germany: deutschland deutsch* german* berlin* bundesregierung
state britain: britain british grossbritannien britisch* london
state france: frankreich franzos* france french paris
state eu: eu europaisch* european brussel* brussels
state nato: nato
state g7: g7
state iran: iran*
state belarus: belarus* weissrussland
state poland: polen polnisch* poland polish
state australia: australi*
state turkey: turkei turkisch* turkey turkish ankara
state canada: kanada* canada canadian* ottawa
state netherlands: niederland* netherlands dutch
state sweden: schweden schwedisch* sweden swedish
state india: indien indiens indische indischen indischer indisches india indian indians
state italy: italien italienisch* italy italian*
state lithuania: litauen* lithuania*
state latvia: lettland* lettisch* latvia*
state estonia: estland* estnisch* estonia*
state austria: osterreich* austria*
state switzerland: schweiz schweizer schweizerische schweizerischen switzerland swiss
state finland: finnland finnlands finnische finnischen finnischer finland finnish
state norway: norweg* norway
state denmark: danemark* danisch* denmark danish
state czechia: tschechi* czech*
state spain: spanien* spanisch* spain spanish
state newzealand: neuseeland* newzealand
person putin: putin*
person kimjongun: kim
person kimyojong: kimyo
person lavrov: lavrov* lawrow*
person choe: choe
person shoigu: schoigu* shoigu*
person belousov: belousov* beloussow*
person gerasimov: gerasimov* gerassimow*
person peskov: peskov* peskow*
person zelensky: zelensk* selenskyj* selenski*
person sybiha: sybiha* sybyha*
person lee: lee
person trump: trump trumps
person xi: xi
person lukashenko: lukashenko* lukaschenko*
person medvedev: medvedev* medwedew*
person volodin: volodin* wolodin*
person nebenzia: nebenzia* nebensja*
person takaichi: takaichi*
person guterres: guterres*
person rubio: rubio*
person pistorius: pistorius*
person wadephul: wadephul*
person kallas: kallas
person rutte: rutte*
person nokwangchol: nokwang
"""


def _table() -> tuple[dict[str, str], dict[str, str]]:
    """Whole-word and prefix tables, from spelled words to their mark."""
    whole: dict[str, str] = {}
    prefixes: dict[str, str] = {}
    for line in re.sub(r"\n\s+", " ", _MARK_LINES).strip().splitlines():
        head, words = line.split(":")
        kind, name = head.split()
        for word in words.split():
            target = prefixes if word.endswith("*") else whole
            target[spell(fold(word.rstrip("*")))] = f"{kind}:{name}"
    return whole, prefixes


_WHOLE, _PREFIXES = _table()
_PREFIX_LENGTHS = sorted({len(prefix) for prefix in _PREFIXES}, reverse=True)
_PEOPLE = {word: mark for word, mark in _WHOLE.items() if mark.startswith("person:")}
_PEOPLE_PREFIXES = tuple((p, m) for p, m in _PREFIXES.items() if m.startswith("person:"))
_WORD = re.compile(r"\w+")
# A headline is read this far: a feed can put a whole article (or a megabyte) in its title.
HEADLINE_CHARS = 300


# German verbs whose particle ends the clause ("Nordkorea zieht Soldaten aus Kursk ab").
_SEPARABLE_WORDS = {
    ("zieht", "ab"): "movement:withdrawn", ("ziehen", "ab"): "movement:withdrawn",
    ("zieht", "zuruck"): "movement:withdrawn", ("ziehen", "zuruck"): "movement:withdrawn",
    ("kehrt", "zuruck"): "movement:withdrawn", ("kehren", "zuruck"): "movement:withdrawn",
    ("holt", "zuruck"): "movement:withdrawn", ("holen", "zuruck"): "movement:withdrawn",
    ("lauft", "uber"): "fate:defected", ("laufen", "uber"): "fate:defected",
    ("lehnt", "ab"): "resolution:rejected", ("lehnen", "ab"): "resolution:rejected",
    ("nimmt", "an"): "resolution:adopted", ("nehmen", "an"): "resolution:adopted",
    ("trifft", "ein"): "movement:deployed", ("treffen", "ein"): "movement:deployed",
    ("weist", "zuruck"): "note:denial", ("weisen", "zuruck"): "note:denial",
}  # fmt: skip
_SEPARABLE = {
    (spell(fold(verb)), spell(fold(particle))): mark
    for (verb, particle), mark in _SEPARABLE_WORDS.items()
}
# A headline that denies ("bestreitet Lieferungen", "no troops") names no happening, only
# its places and states.
_NEGATION_WORDS = """nicht kein keine keinen keiner no not denies denied deny bestreitet bestreiten
    dementiert dementieren"""
_NEGATIONS = spelled_words(_NEGATION_WORDS)
# A headline that denies or corrects a report, or says something happened again or that another
# state followed, tells a new fact even when everything else agrees with an earlier one: its
# note (`note:denial`, `note:again`) against a headline without it vetoes "the same report".
_DENIAL_WORDS = """korrigiert korrigieren korrektur correction corrects corrected falsch false
    fake fabrication fabrications fabricated erfunden erfindung erfindungen zuruckgewiesen
    dismisses dismissed slams slammed"""
_DENIALS = _NEGATIONS | spelled_words(_DENIAL_WORDS)
_REPEATED_WORDS = """erneut wieder wiederum abermals again zweite zweiter zweites zweiten second
    dritte dritter drittes dritten third vierte vierter fourth"""
_AGAIN_WORDS = _REPEATED_WORDS + " another auch also ebenfalls follows folgt folgen"
# ("Auch" and "also" opening a clause: "Auch die Schweiz bestellt ... ein" is another state
# following, "..., also ships missiles" a fact added; "– auch nordkoreanische KN-23 eingesetzt",
# among them, is a reply instead of an edit, the safe side. Inside a clause they only widen:
# "bedroht auch Europa", "North Korea also supplies howitzers" against "liefert auch Haubitzen".)
_AGAIN = spelled_words(_AGAIN_WORDS)
_AGAIN_INSIDE = _AGAIN - {spell(fold("auch")), spell(fold("also"))}
# A text that says the event is a repeat ("erneut", "his fifth trip") answers a headline's
# "again": both tell the repeated event. "Auch" and "also" fill every text and say nothing there.
_REPEAT_WORDS = (
    _REPEATED_WORDS
    + """ viertes vierten funfte funfter funftes funften fifth
    sechste sechster sechsten sixth"""
)
_REPEAT = spelled_words(_REPEAT_WORDS)
# The two capitals are places only where someone is or goes ("in Moskau", "visits Pyongyang"):
# as a government's name ("Pjöngjang schickt Soldaten") they are no place of an event.
_CAPITALS = {spell(fold(word)): f"place:{name}" for word, name in (
    ("moskau", "moscow"), ("moscow", "moscow"), ("pjongjang", "pyongyang"),
    ("pyongyang", "pyongyang"))}  # fmt: skip
_TO_A_PLACE_WORDS = """in im nach to into at visits visit visiting visited besucht besuchen besuch
    reist reisen"""
_TO_A_PLACE = spelled_words(_TO_A_PLACE_WORDS)
_BORDERS = ("grens", "border")  # "the Kursk border", "an der Grenze zu Sumy": both sides
_CLAUSE = re.compile(r"[:;,–—|]| - ")


def marks(title: str, lang: str = "") -> frozenset[str]:
    """The marks (`kind:name`) a headline names; two-word names ("South Korea") read as one.
    `lang`: the report's language, when known (a plan's words are read in it)."""
    found: set[str] = set()
    spelled: list[str] = []
    actors: list[str] = []
    notes: set[str] = set()
    title = written_out(title[:HEADLINE_CHARS])
    last = next((spell(fold(word)) for word in reversed(_WORD.findall(title))), "")
    for clause in _CLAUSE.split(title):
        words = [spell(fold(word)) for word in _WORD.findall(clause)]
        named = _without_grounds(words, _clause_marks(words))
        found.update(named)
        person = frozenset(i for i, w in enumerate(words) if (_mark(w) or "").startswith("person:"))
        at = plan_at(words, lang, last, person)
        if at == len(words) - 1:
            at = 0  # "veto expected", "Entsendung geplant": the plan word governs all before it
        planned = (
            set(_clause_marks(words[at:])) - set(_clause_marks(words[:at])) if at >= 0 else set()
        )
        found.update(f"done:{m}" for m in named if m.startswith(_HAPPENINGS) and m not in planned)
        actors.extend(m for m in named if m.startswith(("state:", "person:")))
        if len(words) > 1:
            found.update(_separable(words))
        if _says_again(words):
            notes.add("note:again")
        if at >= 0:
            notes.add("note:ahead")
        spelled.extend(words)
    negations = _negations(spelled)
    found = _what_happened(found, spelled, bool(negations & _NEGATIONS))
    if negations:
        notes.add("note:denial")
    if actors:
        found.add(f"subject:{actors[0].partition(':')[2]}")
    return frozenset(found | notes)


def _without_grounds(words: Sequence[str], named: list[str]) -> list[str]:
    """A clause's marks without the happenings it names only as grounds ("sanctions ... over
    Kursk deployment": no deployment)."""
    grounds = next((i for i, w in enumerate(words) if w in _GROUNDS), None)
    if grounds is None:
        return named
    before = frozenset(_clause_marks(list(words[:grounds])))
    happening = frozenset(_clause_marks(list(words[grounds:]))) - before
    return [m for m in named if not (m in happening and m.startswith(_HAPPENINGS))]


def _what_happened(found: set[str], spelled: Sequence[str], denied: bool) -> set[str]:
    """The marks left once a denial drops what happened, a ratification the signing it ends,
    and a border the places on both sides of it."""
    if denied:
        found = {m for m in found if m.startswith(("place:", "state:", "person:", "envoy:"))}
    if "treaty:ratified" in found:
        found.discard("treaty:signed")
        found.discard("done:treaty:signed")  # "signs law ratifying the pact": the ratification
    if any(word.startswith(_BORDERS) for word in spelled):
        found = {mark for mark in found if not mark.startswith("place:")}
    return found


def _says_again(clause: Sequence[str]) -> bool:
    """Whether a clause's (spelled) words say its event happened again or another followed."""
    return bool(clause) and (clause[0] in _AGAIN or any(w in _AGAIN_INSIDE for w in clause))


_GROUNDS = spelled_words("over wegen amid angesichts because")
# The kinds of mark that tell what happened (story_clash.py groups them in families).
HAPPENING_KINDS = ("movement", "fate", "outcome", "treaty", "sanctions", "resolution")
_HAPPENINGS = tuple(f"{kind}:" for kind in HAPPENING_KINDS)


def _negations(spelled: Sequence[str]) -> set[str]:
    """The denying words of a headline; "No" opening a name (No Kwang Chol) is none."""
    found = set()
    for i, word in enumerate(spelled):
        if word not in _DENIALS:
            continue
        name = _mark(word + spelled[i + 1]) if i + 1 < len(spelled) else None
        if not (name or "").startswith("person:"):
            found.add(word)
    return found


def repeats(folded: Iterable[str]) -> bool:
    """Whether a report's (folded) words say its event happened before: again, a fifth trip."""
    return any(_spelled(word) in _REPEAT for word in folded)  # folding twice changes nothing


def people(words: Sequence[str]) -> frozenset[str]:
    """The people (`person:` marks) among a text's words, as written: a person one headline
    names and the other report never does is another event. Only capitalised words are read."""
    found = set()
    for i, word in enumerate(words):
        if not word[:1].isupper():
            continue
        spelled = _spelled(word)
        following = _spelled(words[i + 1]) if i + 1 < len(words) else ""
        mark = _PEOPLE.get(spelled + following) or _person(spelled)
        if mark is not None:
            found.add(mark)
    return frozenset(found)


@functools.lru_cache(maxsize=65536)
def _spelled(word: str) -> str:
    return spell(fold(word))


@functools.lru_cache(maxsize=65536)
def _person(spelled: str) -> str | None:
    """The person a spelled word names, its genitive too ("Kims"); words repeat: cached."""
    mark = _PEOPLE.get(spelled)
    if mark is None and spelled[-1:] == "s":
        mark = _PEOPLE.get(spelled[:-1])
    return mark or next((m for p, m in _PEOPLE_PREFIXES if spelled.startswith(p)), None)


def _clause_marks(words: list[str]) -> list[str]:
    """The marks of one clause, in the order it names them."""
    found = []
    for i, word in enumerate(words):
        # The longer name wins: "Kim Yo Jong" is not "Kim" (Jong Un).
        mark = _mark(word + words[i + 1]) if i + 1 < len(words) else None
        if mark is None or not mark.startswith("person:"):
            mark = _mark(word) or mark
        if mark is None and i and words[i - 1] in _TO_A_PLACE:
            mark = _CAPITALS.get(word)
        if mark is not None:
            found.append(mark)
        if i and word.startswith(ENVOYS):
            found.extend(sorted(envoy(words, i - 1, _mark)))
    return found


def _separable(words: list[str]) -> set[str]:
    """The mark of a separable verb whose particle ends the clause."""
    particle = words[-1]
    return {mark for (verb, part), mark in _SEPARABLE.items() if part == particle and verb in words}


@functools.lru_cache(maxsize=65536)
def state_of(term: str) -> str | None:
    """The third state a term of specifics.py names (a spelled stem, "german", "deuhla", or a
    concept, "=japan"), or None: "German" and "Deutschland" name one state."""
    mark = _mark(_spelled(term[1:]) if term[:1] == "=" else term)
    return mark.partition(":")[2] if mark is not None and mark.startswith("state:") else None


def _mark(word: str) -> str | None:
    mark = _WHOLE.get(word)
    if mark is not None:
        return mark
    for length in _PREFIX_LENGTHS:
        if len(word) >= length and (mark := _PREFIXES.get(word[:length])) is not None:
            return mark
    return None
