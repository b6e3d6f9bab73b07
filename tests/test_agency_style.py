"""An agency's update tag and a headline's grounds say nothing about what happened: "(LEAD)"
retells a report, and "over Kursk deployment" names why sanctions were imposed, not a
deployment. Pairs from the third tuning stream (`bench/stories/stream-tuning3.yaml`), where
both kept one event's second report out of its message.
"""

from __future__ import annotations

from pathlib import Path

from monitor.agency_style import untagged
from monitor.story_clash import clash
from monitor.story_marks import marks
from tests.quiet_day import not_merged

STREAM = Path(__file__).resolve().parent.parent / "bench" / "stories" / "stream-tuning3.yaml"


def test_an_update_tag_is_dropped_at_either_end() -> None:
    assert untagged("(LEAD) S. Korea summons Russian envoy") == "S. Korea summons Russian envoy"
    assert untagged("(2ND LD) N. Korea fires missile") == "N. Korea fires missile"
    assert (
        untagged("Russland blockiert Resolution (Zusammenfassung)")
        == "Russland blockiert Resolution"
    )
    # a name in brackets, or a correction, is not an update's tag
    assert untagged("Kim (Jong Un) trifft Schoigu") == "Kim (Jong Un) trifft Schoigu"
    assert untagged("(KORREKTUR) Nordkorea") == "(KORREKTUR) Nordkorea"


def test_what_a_headline_names_as_grounds_did_not_happen() -> None:
    over = marks(
        "UK sanctions North Korean generals and Russian shipping firms over Kursk deployment"
    )
    assert "movement:deployed" not in over and "place:kursk" in over
    assert not clash(over, marks("London verhängt Sanktionen gegen nordkoreanische Generäle"))
    # the happening before the grounds stays: sanctions are not a deployment
    imposed = marks("EU imposes sanctions over troop deployment")
    assert "sanctions:imposed" in imposed
    assert clash(imposed, marks("North Korea deploys more troops to Kursk"))


def test_an_update_and_a_report_of_its_grounds_join_their_event() -> None:
    # T3054: the "(LEAD)" update of T3053; T3057 its German report; T3013: London's sanctions
    # "gegen Generäle", after "UK sanctions ... over Kursk deployment"
    assert not not_merged(STREAM, ("T3054", "T3057", "T3013"))
