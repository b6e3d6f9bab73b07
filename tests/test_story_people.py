"""Reports of one meeting in two languages whose every shared word is the topic's: after a
day of a minister's visit, "Lawrow" and "Kim" open many stories and tell nothing, yet "Kim Jong
Un empfängt Lawrow" and "Kim Jong Un receives Lavrov in Pyongyang" name the same meeting by its
people. And denials told in other words ("Erfindung", "slams") are denials on both sides.
Replayed as the service sees them: the stream benchmark's second tuning half, in arrival order.
"""

from __future__ import annotations

from pathlib import Path

from monitor.specifics import specifics
from monitor.story_marks import marks
from tests.quiet_day import replayed

STREAM = Path(__file__).resolve().parent.parent / "bench" / "stories" / "stream-tuning2.yaml"


def test_one_meeting_named_by_the_same_people_merges_across_languages() -> None:
    placed = replayed(STREAM, news=False)
    for key in ("T2061", "T2072"):  # Kim Jong Un empfängt Lawrow / Lawrow von Kim ... empfangen
        kind, story_event, event = placed[key]
        assert (kind, story_event) == ("same", event), key


def test_a_denial_in_other_words_is_a_denial() -> None:
    assert "note:denial" in marks("Zakharova slams G7 statement on Russia-DPRK ties")
    assert "note:denial" in marks("Moscow calls MSMT report a 'collection of fabrications'")
    assert "note:denial" in marks("Moskau nennt Bericht eine «Erfindung»")


def test_the_people_of_a_headline_must_be_the_same_two_or_more() -> None:
    lavrov_kim = specifics("Kim Jong Un empfängt Lawrow", "")
    assert {"person:kimjongun", "person:lavrov"} <= lavrov_kim.marks
    assert "person:choe" in marks("Lavrov, Choe Son Hui hold talks in Pyongyang")
    assert "person:choe" not in lavrov_kim.marks
