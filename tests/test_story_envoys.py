"""A German and an English report whose headlines name one happening merge at a lower overlap
(`SAME_ACROSS_HEADLINES`), so what a headline says must tell two happenings apart: whose envoy
was summoned ("Moskau bestellt südkoreanischen Botschafter ein" is not "South Korea summons
Russian ambassador"), and talks are not an arrival ("verhandeln" is a meeting word).

The pairs come from the quiet-day pair set (`bench/stories/pairs-quiet-day.yaml`); the merges
from the stream benchmark's tuning halves, replayed in arrival order as the service sees them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.specifics import specifics
from monitor.story_clash import clash
from monitor.story_marks import marks
from tests.quiet_day import not_merged, second_reports

BENCH = Path(__file__).resolve().parent.parent / "bench" / "stories"


def test_whose_envoy_a_headline_names_is_a_mark() -> None:
    assert "envoy:southkorea" in marks("Moskau bestellt südkoreanischen Botschafter ein")
    assert "envoy:russia" in marks("South Korea summons Russian ambassador over troops")
    assert "envoy:russia" in marks("Seoul protestiert bei Moskaus Gesandtem")
    assert "envoy:northkorea" in marks("Pjöngjangs neuer Botschafter übergibt Schreiben")
    assert "envoy:russia" in marks("Japan summons Russia's envoy")
    # "the ambassador to North Korea" is Russia's: a mark is missed rather than guessed
    assert not any(m.startswith("envoy:") for m in marks("Russia appoints ambassador to N. Korea"))
    reversed_ = clash(
        marks("Moskau bestellt südkoreanischen Botschafter ein"),
        marks("South Korea summons Russian ambassador"),
    )
    assert reversed_.startswith("different envoys")
    assert not clash(
        marks("Südkorea bestellt russischen Botschafter ein"),
        marks("South Korea summons Russian ambassador"),
    )


def test_a_word_that_only_looks_like_an_envoy_or_a_state_is_none() -> None:
    assert not any(
        m.startswith("envoy:") for m in marks("Nordkorea hat Soldaten nach Russland gesandt")
    )
    assert not any(m.startswith("envoy:") for m in marks("China rushes envoy to Pyongyang"))
    assert "state:china" not in marks("Troops being sent to Kursk")
    assert "state:britain" not in marks("General Kim Yong Uk visits Moscow")
    assert "envoy:russia" in marks("Russia's new ambassador denies troop transfer")


@pytest.mark.parametrize(
    "headline",
    ["", "Botschafter", "s Botschafter", "'s ambassador", "neuer neuer Botschafter", "🙂 envoy",
     "Botschafter " * 5000, "north ambassador", "– Gesandter: –"],
)  # fmt: skip
def test_a_hostile_headline_gets_no_envoy_and_no_error(headline: str) -> None:
    assert not any(m.startswith("envoy:") for m in marks(headline))


def test_the_uk_is_britain_and_negotiating_is_meeting() -> None:
    assert "state:britain" in marks("UK sanctions North Korean commander")
    assert "=meeting" in specifics("Putin und Kim verhandeln in Wladiwostok", "").headline


def _quiet_day_pair(pair_id: str) -> dict[str, Any]:
    data = yaml.safe_load((BENCH / "pairs-quiet-day.yaml").read_text(encoding="utf-8"))
    return next(pair for pair in data["pairs"] if pair["id"] == pair_id)


@pytest.mark.parametrize("pair_id", ["di01_summon_reversed", "fu12_kim_vladivostok_talks"])
def test_a_report_of_another_happening_in_the_other_language_notifies(pair_id: str) -> None:
    for placed, index in second_reports(_quiet_day_pair(pair_id)):
        assert placed.kind != "same", placed.describe(index.titles())


@pytest.mark.parametrize(
    ("stream", "keys"),
    [
        # Generalstabschefs Gerassimow und Ri beraten ... / G7 condemns new troop deployment
        ("tuning", ("A032", "A078")),
        # Satellitenbilder zeigen Rekordverkehr ... / Kiew: 2.000 Soldaten von Front abgezogen
        ("tuning2", ("T2016", "T2059")),
    ],
)
def test_headlines_that_name_one_happening_merge_across_languages(
    stream: str, keys: tuple[str, ...]
) -> None:
    assert not not_merged(BENCH / f"stream-{stream}.yaml", keys)
