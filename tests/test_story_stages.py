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

BENCH = Path(__file__).resolve().parent.parent / "bench" / "stories"
STREAM = BENCH / "stream-tuning3.yaml"


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
    assert clash(agreed, adopted).startswith("different steps")


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


@pytest.mark.parametrize(
    ("title", "lang", "plan"),
    [
        ("Pjöngjang plant Entsendung von Pionieren nach Kursk", "de", True),
        ("Kim Jong Un visits munitions plant making shells for Russia", "en", False),  # a factory
        ("Russia vetoes resolution, as expected", "en", False),
        ("Wie geplant: Duma ratifiziert Vertrag", "de", False),
        ("Kim erwartet Putin am Flughafen", "de", False),  # awaits a guest
        ("Shoigu in Pyongyang ahead of upcoming Putin visit", "en", False),
        ("Nordkorea soll – nach Verlusten in Kursk – neue Soldaten geschickt haben", "de", False),
        ("Kim soll sein Elitekorps nach Kursk schicken", "de", True),  # "sein" is his
        ("Putin wird Nordkorea besuchen", "de", True),
        ("Neue Sanktionen werden verhängt", "de", False),  # a passive: the act
        ("Duma to vote on North Korea defence treaty on Thursday", "en", True),
        ("Russland droht mit Veto gegen Nordkorea-Resolution", "de", True),
        ("North Korean troops may soon join fighting in Ukraine", "en", True),
        ("Kim and Putin to sign mutual defence pact during summit", "en", True),
        # a second review's senses (bench/stories/pairs-probe4.yaml)
        ("North Korean soldiers may have been killed in drone strike", "en", False),
        ("Kim to attend parade in May", "en", True),
        ("Putin visits Pyongyang in May 2024", "en", False),  # the month
        ("Nordkoreanische Soldaten werden aus Kursk abgezogen", "de", False),  # a participle
        ("Putin wird Pjöngjang besuchen, sagt der Kreml", "de", True),  # the clause's own end
        ("Nordkorea soll Soldaten geschickt haben, sagt Seoul", "de", False),
        ("Kim pledges to send more troops to Russia", "en", True),  # a pledge is a plan
        ("North Korean troops to be withdrawn from Kursk", "en", True),
        ("Pjöngjang kündigt Entsendung weiterer Soldaten an", "de", True),
        ("Wie von Kim angekündigt: Soldaten in Kursk eingetroffen", "de", False),
    ],
)
def test_a_plan_is_read_in_its_own_sense(title: str, lang: str, plan: bool) -> None:
    assert ("note:ahead" in marks(title, lang)) is plan


def test_an_act_told_as_done_is_no_plan() -> None:
    arrives = marks("Shoigu arrives in Pyongyang to meet Kim Jong Un", "en")
    # he arrived; "to meet" is the arrival's purpose, no plan of the headline's own
    assert "done:movement:deployed" in arrives and "note:ahead" not in arrives
    assert not clash(arrives, marks("Schoigu in Pjöngjang eingetroffen", "de"))
    # a headline that tells an act done and a plan, against one that tells only the plan
    both = marks("Putin arrives in Pyongyang, expected to sign defence pact", "en")
    assert clash(both, marks("Putin to visit Pyongyang next week", "en"))


def test_a_plan_tells_apart_only_from_an_act() -> None:
    plan = marks("Pjöngjang plant Entsendung von Pionieren nach Kursk", "de")
    # two wordings of the plan, one not on the list: no act to tell it from
    assert not clash(plan, marks("North Korea preparing to send engineers to Kursk", "en"))
    assert clash(plan, marks("Nordkorea schickt Pioniere nach Kursk", "de"))
    # a decision between the two states, agreed or adopted: one decision in two words
    bilateral = marks("Russland und Nordkorea beschließen engere Zusammenarbeit", "de")
    assert not clash(bilateral, marks("Russia, North Korea agree closer cooperation", "en"))
    # an institution's agreement and its act are two steps
    agreed = marks("EU einigt sich auf Sanktionen gegen Nordkorea", "de")
    assert clash(agreed, marks("EU verhängt Sanktionen gegen Nordkorea", "de")).startswith(
        "different steps"
    )
    # signing a law that ratifies is the ratification
    assert "treaty:signed" not in marks("Putin signs law ratifying North Korea treaty", "en")


def _probe(key: str) -> dict[str, Any]:
    """A pair of pairs-probe3.yaml ("d2_..."), or of another probe ("probe4/s1_...")."""
    name, _, pair_id = key.rpartition("/")
    path = BENCH / f"pairs-{name or 'probe3'}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return next(pair for pair in data["pairs"] if pair["id"] == pair_id)


@pytest.mark.parametrize(
    "pair_id",
    [
        "d2_putin_wird_besuchen_vs_eingetroffen",
        "d5_duma_to_vote_vs_ratifies",
        "d6_droht_mit_veto_vs_vetoes",
        "d9_to_sign_vs_sign",
        "d12_set_to_sign_law_vs_signs",
        "d14_wollen_unterzeichnen_vs_unterzeichnen",
        "d3_eu_einigt_sich_vs_verhaengt",
        "probe4/d1_pledges_to_send_vs_arrive",
        "probe4/d4_wird_besuchen_sagt_kreml_vs_eingetroffen",
        "probe4/d9_both_ahead_arrives_expected_to_sign_vs_to_visit",
    ],
)
def test_the_act_after_its_plan_notifies(pair_id: str) -> None:
    for placed, index in second_reports(_probe(pair_id)):
        assert placed.kind != "same", placed.describe(index.titles())


@pytest.mark.parametrize(
    "pair_id",
    [
        "s4_plant_factory_cross",  # a factory
        "s13_plans_to_vs_to_en_en",  # one plan, two wordings
        "s20_as_expected_veto_happening",
        "s12_beschliessen_vs_agree_cross",  # a summit's decision
        "probe4/s1_arrives_to_meet_en_de",  # the arrival happened; the meeting is its purpose
        "probe4/s6_may_have_been_killed_en_de",
        "probe4/s9_werden_abgezogen_passive_de_en",
        "probe4/s12_soll_haben_then_attribution_de_en",
    ],
)
def test_one_event_worded_as_plan_or_frame_merges(pair_id: str) -> None:
    for placed, index in second_reports(_probe(pair_id)):
        assert placed.kind == "same", placed.describe(index.titles())


@pytest.mark.parametrize(
    "title",
    ["", "...", "will", "May", "soll", "to", "to to to", "wird " * 2000, "(LEAD)", "\x00 expected"],
)
@pytest.mark.parametrize("lang", ["", "de", "en"])
def test_a_hostile_headline_is_read_for_plans_without_error(title: str, lang: str) -> None:
    found = marks(title, lang)
    assert isinstance(found, frozenset) and not clash(found, found)
