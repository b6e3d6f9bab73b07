"""One event told twice, where the old rule saw a new fact: a figure written out in one
language ("elf Millionen") and in digits in the other ("11 million"), and a headline's "erneut"
that the other report's text answers ("his fifth trip", "the third North Korean taken
prisoner"). Each pair is from the stream benchmark's tuning half and must merge in either
order; before this rule each opened a second message. A repeat nobody answers still notifies
(tests/test_story_notes.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.specifics import specifics
from monitor.stories import place
from monitor.story_marks import marks
from tests.quiet_day import quiet_day

STREAM = Path(__file__).resolve().parent.parent / "bench" / "stories" / "stream-tuning.yaml"
ONE_EVENT = [
    ("A038", "A044"),  # 11 million shells / mehr als elf Millionen Granaten
    ("A038", "A059"),
    ("A043", "A048"),  # Shoigu's fifth trip / Schoigu erneut bei Kim
    ("A066", "A075"),  # the third North Korean taken prisoner / erneut gefangen
]


def _reports() -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in yaml.safe_load(STREAM.read_text(encoding="utf-8"))}


@pytest.mark.parametrize(("first", "second"), ONE_EVENT)
def test_one_event_in_two_languages_merges_in_either_order(first: str, second: str) -> None:
    reports = _reports()
    assert reports[first]["event"] == reports[second]["event"]
    for one, two in ((reports[first], reports[second]), (reports[second], reports[first])):
        at = datetime.fromisoformat(str(one["time"]))
        index = quiet_day(at)
        place(index, "one", one["title"], one["text"], at)
        placed = place(index, "two", two["title"], two["text"], at + timedelta(hours=1))
        assert placed.kind == "same", placed.describe(index.titles())


def test_a_written_out_figure_with_its_scale_is_the_figure() -> None:
    found = specifics("Nordkorea lieferte elf Millionen Granaten", "Mehr als zwölf Mio. Schuss.")
    assert {"#11000000", "#12000000"} <= found.terms
    assert not found.figures  # a term only: the stock "12 million shells" is no rare figure
    english = specifics("North Korea shipped 11 million shells", "Worth $2 bn, a report says.")
    assert {"#11000000", "#2000000000"} <= english.terms


def test_a_repeat_is_read_from_the_text_not_from_also() -> None:
    assert specifics("Shoigu in Pyongyang", "It is Shoigu's fifth trip this year.").repeats
    assert specifics("Schoigu in Pjöngjang", "Er reiste erneut nach Nordkorea.").repeats
    assert not specifics("Schoigu in Pjöngjang", "Auch Lawrow ist dabei, also Putin.").repeats


def test_weist_zurueck_denies() -> None:
    assert "note:denial" in marks("Moskau weist Bericht über Waffenlieferungen zurück")
    assert "note:denial" in marks("Russia dismisses monitors' report as 'fabrication'")
    assert "note:denial" not in marks("Nordkoreanische Soldaten kehren aus Kursk zurück")
