"""Two steps of one process are two events: a vote announced and the veto cast, sanctions
agreed by the envoys and adopted by the Council the next day. A headline that tells a plan or
an expectation ("to vote Tuesday; veto expected", "soll besuchen") is not the report of what
happened, and "beschließt" is the adoption, not the agreement before it.

The pairs come from the third tuning stream (`bench/stories/stream-tuning3.yaml`), where the
rule before this round edited both second steps into the first step's message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.story_clash import clash
from monitor.story_marks import marks
from tests.quiet_day import replayed, second_reports

STREAM = Path(__file__).resolve().parent.parent / "bench" / "stories" / "stream-tuning3.yaml"


def test_a_plan_or_an_expectation_is_a_note_of_its_own() -> None:
    vote = marks(
        "UN Security Council to vote Tuesday on North Korea-Russia arms draft; veto expected"
    )
    veto = marks("Russia vetoes UN resolution condemning North Korean arms and troops")
    assert "note:ahead" in vote and "note:ahead" not in veto
    assert clash(vote, veto) == "one headline tells a plan or expectation"
    assert "note:ahead" in marks("Schoigu soll Pjöngjang besuchen")
    assert "note:ahead" in marks("UN-Sicherheitsrat stimmt über Resolution ab - Veto erwartet")
    # both headlines tell the plan: one event
    assert not clash(vote, marks("UN-Sicherheitsrat stimmt über Resolution ab - Veto erwartet"))
    # "soll" with a past infinitive is hearsay about what happened, not a plan
    assert "note:ahead" not in marks("Nordkorea soll weitere Soldaten geschickt haben")
    # "to" before a verb is also what someone urges or accepted: no plan of the headline's own
    assert "note:ahead" not in marks("Zelenskiy urges South Korea to send air defence")
    assert "note:ahead" not in marks("Kim Jong Un has accepted invitation to visit Russia")


def test_sanctions_agreed_then_adopted_are_two_steps() -> None:
    agreed = marks("EU envoys agree sanctions on North Korean officers over troops for Russia")
    adopted = marks("EU beschließt Sanktionen gegen nordkoreanische Offiziere")
    assert clash(agreed, adopted).startswith("different votes")


def _pair(first: str, second: str) -> dict[str, Any]:
    reports = {r["id"]: r for r in yaml.safe_load(STREAM.read_text(encoding="utf-8"))}
    one, two = reports[first], reports[second]
    return {"a": one, "b": two, "date": str(one["time"]).replace("Z", "+00:00")}


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("T3064", "T3095"),  # the vote announced, the veto cast
        ("T3091", "T3127"),  # sanctions agreed by the envoys, adopted a day later
    ],
)
def test_the_next_step_of_a_process_notifies_within_the_hour(first: str, second: str) -> None:
    for placed, index in second_reports(_pair(first, second)):
        assert placed.kind != "same", placed.describe(index.titles())


def test_the_stream_keeps_each_step_and_merges_each_steps_reports() -> None:
    placed = replayed(STREAM, news=True)
    assert placed["T3095"][0] != "same"  # the veto, after the vote was announced
    # the reports of the adoption, German then English, in one message
    assert placed["T3129"][0] == "same" and placed["T3129"][1] == placed["T3129"][2]
