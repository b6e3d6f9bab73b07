"""A headline that names someone or somewhere the other report never mentions tells another
event (Shoigu, not Lavrov), so what counts as a name decides many merges across languages:

- a German common noun is capitalised like a name but names no one ("Rüstungsabkommen");
- a third state ("German", "Deutschland") is compared by its headline mark, not its spelling;
- the agencies' abbreviations are the states they stand for ("N. Korea", "S. Korean", "U.S.");
- two headlines naming the same two people and no one else name one meeting, and merge at the
  lower overlap across languages, as headlines sharing an event word do;
- two headlines whose first-named actors differ, neither naming the other's at all, tell two
  events (Seoul taking in prisoners, after Zelensky's video of them).

The merges come from the stream benchmark's tuning halves, replayed in arrival order.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.specifics import specifics
from monitor.story_clash import clash
from monitor.story_marks import marks
from tests.quiet_day import replayed

BENCH = Path(__file__).resolve().parent.parent / "bench" / "stories"


def test_a_german_common_noun_or_a_state_in_a_headline_names_no_new_actor() -> None:
    found = specifics("Putin legt Duma Rüstungsabkommen mit Nordkorea zur Ratifizierung vor", "")
    assert found.nouns == {"rustun"}  # Ratifizierung is the concept of ratifying
    assert "duma" in found.names and "duma" not in found.nouns
    assert "german" in specifics("German FM Wadephul arrives in Seoul", "").nouns
    assert {"staf", "state"} <= specifics("Chief of General Staff visits State Duma", "").nouns
    assert "krigsi" in specifics("Russische Kriegsschiffe laufen in Wonsan ein", "").nouns
    for name in ("Gerassimow empfängt Ri", "Lee Jae Myung in Tokio", "Wostotschny", "Union"):
        assert not specifics(name, "").nouns, name


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


def test_also_inside_a_german_clause_only_widens() -> None:
    assert "note:again" not in marks("Wadephul: Nordkoreas Hilfe für Russland bedroht auch Europa")
    assert "note:again" in marks("Auch die Schweiz bestellt russischen Botschafter ein")
    assert "note:again" in marks("Raketen auf Kiew: Zwei Tote – auch nordkoreanische KN-23")
    assert "note:again" in marks("Japan also summons Russian envoy")
    assert clash(marks("Japan also summons Russian envoy"), marks("Japan summons Russian envoy"))


def test_headlines_whose_first_actors_differ_tell_two_events() -> None:
    seoul = marks("Seoul will gefangene Nordkoreaner aufnehmen")
    video = marks("Zelenskyy releases video of captured North Korean soldiers and offers swap")
    assert clash(seoul, video).startswith("different actors")
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
        # German FM Wadephul arrives in Seoul / Wadephul in Südkorea; Kim gratuliert Putin /
        # Kim Jong Un sends greetings to Putin; Putin submits agreement ... to State Duma /
        # Putin legt Duma Geheimschutzabkommen ... vor; Gerasimov meets DPRK Chief of General
        # Staff / Gerassimow empfängt ...; Pacific Fleet ships arrive in DPRK's Wonsan /
        # Russische Kriegsschiffe laufen in ... Wonsan ein
        ("tuning2", ("T2075", "T2095", "T2025", "T2067", "T2055")),
    ],
)
def test_reports_whose_headlines_name_the_same_actors_merge_across_languages(
    stream: str, keys: tuple[str, ...]
) -> None:
    placed = replayed(BENCH / f"stream-{stream}.yaml", news=True)
    for key in keys:
        kind, story_event, event = placed[key]
        assert (kind, story_event) == ("same", event), key
