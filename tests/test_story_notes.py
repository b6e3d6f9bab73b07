"""Two events that agree on everything the story rule weighs, told apart by what their headlines
say: again, a second, another state following, a denial or a correction, a raised toll, another
technology in the same agency wording. Each second report must notify, in either order.

The pairs come from a white-box probe of the rule (`bench/stories/pairs-probe.yaml`); before
the notes, figures and technologies below, every one was judged "the same report".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.specifics import specifics
from tests.quiet_day import second_reports

PROBE = Path(__file__).resolve().parent.parent / "bench" / "stories" / "pairs-probe.yaml"
NEW_FACTS = [
    "d01_lithuania_latvia_blacklist",
    "d02_austria_switzerland_envoy",
    "d03_third_soldier_captured",
    "d04_arsenal_struck_twice",
    "d05_second_ship_vostochny",
    "d06_same_figure_losses_replacements",
    "d10_seoul_submarine_then_satellite",
    "d11_de_second_munitions_train",
    "f03_kremlin_denies_zaporizhzhia",
    "f04_nis_correction_not_at_front",
    "f08_toll_raised_keeps_old_figure",
]


def _pairs() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(PROBE.read_text(encoding="utf-8"))
    return {pair["id"]: pair for pair in data["pairs"]}


@pytest.mark.parametrize("pair_id", NEW_FACTS)
def test_a_report_with_a_new_fact_notifies_whatever_it_shares(pair_id: str) -> None:
    pair = _pairs()[pair_id]
    assert pair["label"] in ("distinct", "followup")
    for placed, index in second_reports(pair):
        assert placed.kind != "same", placed.describe(index.titles())


def test_an_english_tuesday_is_a_weekday() -> None:
    """Folding reads "ue" as "ü", so "Tuesday" arrives as "tusday": it was a rare word shared by
    every English Tuesday report, never the day that can tell two reports apart."""
    english = specifics(
        "Shoigu meets Kim", "Sergei Shoigu met Kim Jong Un on Tuesday in Pyongyang."
    )
    german = specifics("Schoigu trifft Kim", "Sergej Schoigu traf Kim Jong Un am Mittwoch.")
    assert english.weekdays == {"@tue"}
    assert german.weekdays == {"@wed"}
