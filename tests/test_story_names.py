"""A headline that names someone or somewhere the other report never mentions tells another
event (Shoigu, not Lavrov), so what counts as a name decides many merges across languages:

- a German common noun is capitalised like a name but names no one ("Rüstungsabkommen");
- a third state ("German", "Deutschland") is compared by its headline mark, not its spelling;
- the agencies' abbreviations are the states they stand for ("N. Korea", "S. Korean", "U.S.");
- two headlines naming the same two people and no one else name one meeting, and merge at the
  lower overlap across languages, as headlines sharing an event word do;
- two headlines whose first-named actors differ, neither naming the other's at all, tell two
  events (Seoul taking in prisoners, after Zelensky's video of them).

In one language none of this loosens the rule: a third state condemning an event, or a German
noun the other headline lacks, still tells another report. The pairs a reviewer wrote against
the first version of the round (`bench/stories/pairs-probe2.yaml`) hold that.

The merges come from the stream benchmark's tuning halves, replayed in arrival order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.common_nouns import common_noun
from monitor.specifics import specifics
from monitor.story_clash import clash
from monitor.story_marks import marks, state_of
from tests.quiet_day import not_merged, replayed, second_reports

BENCH = Path(__file__).resolve().parent.parent / "bench" / "stories"


def test_a_german_common_noun_or_a_state_in_a_headline_names_no_new_actor() -> None:
    found = specifics("Putin legt Duma Rüstungsabkommen mit Nordkorea zur Ratifizierung vor", "")
    assert found.nouns == {"rustun"}  # Ratifizierung is the concept of ratifying
    assert "duma" in found.names and "duma" not in found.nouns
    # a state's adjective and its name are one state, whatever the language
    assert state_of("german") == state_of("deuhla") == state_of("deuhe") == "germany"
    assert state_of("=japan") == "japan" and state_of("vadefu") is None
    assert {"staf", "state"} <= specifics("Chief of General Staff visits State Duma", "").nouns
    assert "krigsi" in specifics("Russische Kriegsschiffe laufen in Wonsan ein", "").nouns
    for name in ("Gerassimow empfängt Ri", "Lee Jae Myung in Tokio", "Wostotschny", "Union"):
        assert not specifics(name, "").nouns, name
    # Korean and Russian names that end like German nouns, and a noun only in the lead
    for word in ("hamhung", "jaemyung", "hyoung", "rodion", "legion"):
        assert not common_noun(word), word
    assert not specifics("Sicherheitsberater trifft Rutte", "Sicherheit zuerst").nouns


@pytest.mark.parametrize(
    "title",
    ["", "U.S." * 5000, "N. S. N. Korea Korea", "U.S.A.U.K.", "US$ UK£ U.S.-led", "🙂 S.\u200bKorea",
     "N." * 3000 + "Korea", "Rüstungsabkommen" * 500, "\x00\ufeffUS"],
)  # fmt: skip
def test_a_hostile_headline_is_read_without_error(title: str) -> None:
    found = specifics(title, title)
    assert found.nouns <= found.headline and isinstance(marks(title), frozenset)


def test_only_the_opening_words_of_a_long_page_are_read() -> None:
    text = "Die U.S. Regierung und N. Korea. " + "Wort " * 400
    assert specifics("Titel", text) == specifics("Titel", text + "U.S. Kursk " * 200_000)


def test_the_agencies_abbreviations_are_the_states() -> None:
    assert {"envoy:southkorea", "state:southkorea"} <= marks("Russia summons S. Korean envoy")
    assert "state:usa" in marks("U.S. sanctions ships, Russian firms")
    assert "state:britain" in marks("U.K. imposes sanctions")
    assert "state:britain" in marks("UK sanctions North Korean commander")
    north = specifics("N. Korea sends troops", "")
    assert "=northkorea" in north.terms and "korea" not in north.terms
    assert "=usa" in specifics("U.S. sanctions ships", "").terms
    # lower case is a word, and "Uk" a syllable of a Korean name
    assert not marks("tell us why") and "state:britain" not in marks("General Kim Yong Uk")


def test_also_inside_a_clause_only_widens() -> None:
    assert "note:again" not in marks("Wadephul: Nordkoreas Hilfe für Russland bedroht auch Europa")
    assert "note:again" not in marks("North Korea also supplies howitzers to Russia")
    assert "note:again" in marks("Auch die Schweiz bestellt russischen Botschafter ein")
    assert "note:again" in marks("Raketen auf Kiew: Zwei Tote – auch nordkoreanische KN-23")
    assert "note:again" in marks("Kim sends troops, also ships missiles")
    assert "note:again" in marks("Japan summons Russian envoy again")
    assert clash(marks("Also Japan summons Russian envoy"), marks("Japan summons Russian envoy"))
    # a denial keeps its "again" (the denial drops the marks of what happened, not the notes)
    assert {"note:denial", "note:again"} <= marks("Kreml bestreitet erneut Truppenentsendung")


def test_headlines_whose_first_actors_differ_tell_two_events() -> None:
    seoul = marks("Seoul nimmt gefangene Nordkoreaner auf")
    video = marks("Zelenskyy releases video of captured North Korean soldiers and offers swap")
    assert clash(seoul, video).startswith("different actors")
    assert clash(marks("Seoul will gefangene Nordkoreaner aufnehmen"), video)  # a plan, too
    putin = marks("Putin receives North Korean defence minister No Kwang Chol")
    assert clash(putin, marks("Belousov hosts North Korean defence minister No Kwang Chol"))
    # the other headline names the first actor later, or one speaks for the other's state
    assert not clash(putin, marks("Belousov und Putin empfangen No Kwang Chol"))
    assert not clash(marks("German FM visits Panmunjom"), marks("Wadephul besucht Panmunjom"))
    placed = replayed(BENCH / "stream-tuning2.yaml", news=True)
    assert placed["T2130"][0] != "same"


@pytest.mark.parametrize(
    ("stream", "keys"),
    [
        # Putin sends ... deal to parliament for ratification / Putin legt Duma
        # Rüstungsabkommen ... vor; Putin meets North Korea's top diplomat / Putin empfängt
        # nordkoreanische Außenministerin; U.S. sanctions ships / USA verhängen Sanktionen
        ("tuning", ("A026", "A073", "A140")),
        # German FM Wadephul arrives in Seoul / Wadephul in Südkorea (who speaks for Germany);
        # Putin submits agreement ... to State Duma /
        # Putin legt Duma Geheimschutzabkommen ... vor; Gerasimov meets DPRK Chief of General
        # Staff / Gerassimow empfängt ...; Pacific Fleet ships arrive in DPRK's Wonsan /
        # Russische Kriegsschiffe laufen in ... Wonsan ein
        ("tuning2", ("T2075", "T2025", "T2067", "T2055")),
    ],
)
def test_reports_whose_headlines_name_the_same_actors_merge_across_languages(
    stream: str, keys: tuple[str, ...]
) -> None:
    assert not not_merged(BENCH / f"stream-{stream}.yaml", keys)


def _probe_pair(pair_id: str) -> dict[str, Any]:
    data = yaml.safe_load((BENCH / "pairs-probe2.yaml").read_text(encoding="utf-8"))
    return next(pair for pair in data["pairs"] if pair["id"] == pair_id)


@pytest.mark.parametrize(
    "pair_id",
    [
        "p1_summit_treaty_vs_car",  # Putin and Kim alone name no one meeting
        "p4_deploy_vs_germany_condemns_de",  # a third state's reaction, in one language
        "p5_deploy_vs_germany_condemns_en",
        "q3_britain_reacts_de",
        "r1_de_evacuation",  # a German noun the other headline lacks, in one language
        "p6_duma_vs_fedcouncil_en",  # the Duma and the Federation Council: two chambers
        "p11_hamhung",  # a city, not a noun
    ],
)
def test_a_reaction_or_another_step_in_one_language_notifies(pair_id: str) -> None:
    for placed, index in second_reports(_probe_pair(pair_id)):
        assert placed.kind != "same", placed.describe(index.titles())


def test_also_inside_a_clause_merges_across_languages() -> None:
    for placed, index in second_reports(_probe_pair("p8_auch_same_cross")):
        assert placed.kind == "same", placed.describe(index.titles())
