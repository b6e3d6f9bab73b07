"""A headline that names someone or somewhere the other report never mentions tells another
event (Shoigu, not Lavrov), so what counts as a name decides many merges across languages:

- a German common noun is capitalised like a name but names no one ("Rüstungsabkommen");
- a third state ("German", "Deutschland") is compared by its headline mark, not its spelling;
- the agencies' abbreviations are the states they stand for ("N. Korea", "S. Korean", "U.S.");
- two headlines naming the same two people and no one else name one meeting, and merge at the
  lower overlap across languages, as headlines sharing an event word do.

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


@pytest.mark.parametrize(
    ("stream", "keys"),
    [
        # Putin sends ... deal to parliament for ratification / Putin legt Duma
        # Rüstungsabkommen ... vor; Putin meets North Korea's top diplomat / Putin empfängt
        # nordkoreanische Außenministerin; U.S. sanctions ships / USA verhängen Sanktionen
        ("tuning", ("A026", "A073", "A140")),
        # German FM Wadephul arrives in Seoul / Wadephul in Südkorea; Kim gratuliert Putin /
        # Kim Jong Un sends greetings to Putin
        ("tuning2", ("T2075", "T2095")),
    ],
)
def test_reports_whose_headlines_name_the_same_actors_merge_across_languages(
    stream: str, keys: tuple[str, ...]
) -> None:
    placed = replayed(BENCH / f"stream-{stream}.yaml", news=True)
    for key in keys:
        kind, story_event, event = placed[key]
        assert (kind, story_event) == ("same", event), key
