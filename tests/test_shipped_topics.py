"""The shipped topics on words with a second meaning: a price that has fallen is no soldier
killed, a shell company no artillery shell, troops that seize a village no sanctions seizure.

Each case was written from an operator's review of `config/topics.yaml` that listed the words
(BENCHMARKS.md, eighth round); before the fix all but the last alerted the wrong topic or
none. The last guards a reading the review feared and the rules already avoid: a missile that
"traf" (hit) a house is no meeting ("traf" also means "met").
"""

from __future__ import annotations

import pytest

from monitor.config import load_topics
from monitor.match import Matcher
from monitor.models import Article, Entry
from tests.conftest import REPO

TROOPS = "North Korean troops in Russia"
WEAPONS = "North Korean missiles and shells for Russia"
UN = "UN Security Council resolutions and sanctions"
CONTEXT = "Civil ties between Russia and North Korea (context)"

CASES = [
    (
        "Kohlepreise im Handel zwischen Nordkorea und Russland gefallen",
        "WLADIWOSTOK (dpa) - Die Preise für nordkoreanische Kohle im Handel mit Russland sind im "
        "dritten Quartal deutlich gefallen. Das teilte die Zollbehörde in Wladiwostok mit. Der "
        "Handel zwischen beiden Ländern wuchs dennoch.",
        {CONTEXT},
    ),
    (
        "Nordkorea und Russland vereinbaren Verstärkung des Tourismus",
        "MOSKAU (dpa) - Nordkorea und Russland wollen ihre Zusammenarbeit im Tourismus verstärken. "
        "Eine Verstärkung der Flugverbindungen zwischen Moskau und Pjöngjang sei geplant, sagte "
        "der russische Tourismusminister.",
        {CONTEXT},
    ),
    (
        "Russia to add diplomatic personnel at its Pyongyang embassy",
        "MOSCOW (Reuters) - Russia will increase its diplomatic personnel at the embassy in "
        "Pyongyang, the foreign ministry said on Monday, citing growing consular work as North "
        "Korean tourists travel to Russia.",
        {CONTEXT},
    ),
    (
        "North Korean troops seized the village of Plekhovo, Russia says",
        "MOSCOW (Reuters) - North Korean troops fighting alongside Russian forces seized the "
        "village of Plekhovo in the Kursk region, Russia's defence ministry said on Tuesday, the "
        "first time it credited North Korean soldiers with taking a settlement.",
        {TROOPS},
    ),
    (
        "Russland zieht Lehren aus dem Einsatz nordkoreanischer Soldaten in Kursk",
        "MOSKAU (dpa) - Das russische Militär wertet den Einsatz nordkoreanischer Soldaten im "
        "Gebiet Kursk aus. Die Soldaten aus Nordkorea hätten schwere Verluste erlitten, aber "
        "Dörfer zurückerobert, berichtete die Zeitung Iswestija.",
        {TROOPS},
    ),
    (
        "Treasury targets North Korean shell companies paid by Russia",
        "WASHINGTON (Reuters) - The U.S. Treasury on Tuesday sanctioned eight North Korean shell "
        "companies that it said received Russian payments in breach of U.N. Security Council "
        "resolutions. The firms in Hong Kong and Vladivostok laundered money for Pyongyang, the "
        "Treasury said.",
        {UN},
    ),
    (
        "Nordkorea: Giftgas für Russlands Front?",
        "SEOUL (dpa) - Südkoreas Geheimdienst prüft Hinweise, dass Nordkorea Russland Giftgas für "
        "den Einsatz an der Front in der Ukraine liefert. Pjöngjang bestreitet das.",
        {WEAPONS},
    ),
    (
        "Nordkoreanische Rakete traf Wohnhaus in Kiew",
        "KIEW (dpa) - Eine nordkoreanische Rakete vom Typ KN-23 traf in der Nacht ein Wohnhaus in "
        "Kiew, teilte die ukrainische Staatsanwaltschaft mit. Russland hatte die Rakete "
        "abgefeuert; vier Menschen starben.",
        {WEAPONS},
    ),
]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_topics(REPO / "config" / "topics.yaml", ["default"]))


@pytest.mark.parametrize(("title", "text", "expected"), CASES, ids=[c[0][:40] for c in CASES])
def test_a_word_with_a_second_meaning_alerts_the_right_topic(
    matcher: Matcher, title: str, text: str, expected: set[str]
) -> None:
    article = Article(Entry("test", None, None, title, "", None), text, True)
    assert {match.topic for match in matcher.match(article)} == expected
