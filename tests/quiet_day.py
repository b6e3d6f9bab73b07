"""A quiet day's story window, as a reviewer built it to break the story rule: the real feeds'
items as general news, then eight reports on the topic, each a different event, in the 18 hours
before. On such a day the topic's words are rare among all news, and weak links thread
unrelated stories together. Also the story tests' other windows: the real feeds' items alone,
and a benchmark stream replayed in arrival order."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from monitor.parse import html_to_text, parse_feed
from monitor.stories import Assignment, StoryIndex, place
from tests.conftest import needs_shared

STORIES = [
    ('North Korean labourers arrive at Russian building sites, Seoul lawmakers say',
     'Thousands of North Korean workers have arrived in Russia on student and trainee visas to work on construction sites in the Far East, South Korean lawmakers said after a closed-door intelligence briefing. The labour transfers breach UN sanctions that require member states to send North Korean workers home, they said.'),
    ('Ukrainische Drohnen treffen Munitionslager in Brjansk – dort sollen nordkoreanische Granaten gelagert haben',
     'Ukrainische Drohnen haben nach Angaben aus Kiew ein großes Munitionsdepot in der russischen Region Brjansk getroffen. In dem Lager sollen auch Artilleriegranaten aus Nordkorea gelagert worden sein, teilte der ukrainische Generalstab mit. Russland sprach von abgefangenen Drohnen.'),
    ('US says Russia shipped oil to North Korea far above UN cap',
     "Russia has delivered more than a million barrels of oil to North Korea this year, far above the cap set by the UN Security Council, the US State Department said. The deliveries are seen as payment for weapons Pyongyang sent for Moscow's war in Ukraine, a spokesperson said."),
    ('Südkoreas Parlament berät in Anhörung über Nordkoreas Soldaten in Russland',
     'Der Verteidigungsausschuss der Nationalversammlung in Seoul hat Vertreter des Militärs zu Nordkoreas Truppen in Russland befragt. Abgeordnete der Opposition warfen der Regierung vor, zu zögerlich auf die Kooperation zwischen Pjöngjang und Moskau zu reagieren.'),
    ("China says it is 'not aware' of North Korean troops in Russia",
     "China's foreign ministry said it was not aware of the situation when asked about North Korean soldiers fighting for Russia. A spokesperson said Beijing hoped all parties would work towards a de-escalation and that China's position on the Ukraine crisis was consistent and clear."),
    ('Kim Jong Un besichtigt Drohnenfabrik – Seoul vermutet russische Hilfe',
     'Nordkoreas Machthaber Kim Jong Un hat laut Staatsmedien eine Fabrik für Angriffsdrohnen besichtigt und eine Massenproduktion angeordnet. Der südkoreanische Generalstab vermutet, dass Nordkorea dabei Erfahrungen und Technik aus Russland nutzt.'),
    ('Polish president warns North Korean troops could be used against NATO',
     "Poland's president warned that North Korean soldiers gaining combat experience in Russia could one day be used against NATO's eastern flank. He called for tighter sanctions on both Moscow and Pyongyang in a speech to military officers in Warsaw."),
    ('Studie: Nordkorea verdiente Milliarden mit Waffenverkäufen an Russland',
     'Nordkorea hat einer Studie eines südkoreanischen Forschungsinstituts zufolge seit 2023 umgerechnet rund 20 Milliarden Dollar mit Waffenlieferungen und Truppenentsendungen nach Russland eingenommen. Das Geld sei in Öl, Lebensmittel und Militärtechnik geflossen, heißt es in dem Bericht.'),
]  # fmt: skip
HOURS_BEFORE = [18, 15.5, 13, 11, 8.5, 6, 3.5, 1.5]


@functools.cache
def _general_news() -> tuple[tuple[str, str], ...]:
    feeds = needs_shared("data/feeds")
    return tuple(
        (entry.title, html_to_text(entry.summary))
        for path in sorted(feeds.glob("*.xml"))
        for entry in parse_feed(path.stem, path.read_bytes(), {}).entries
    )


def general_news(at: datetime) -> StoryIndex:
    """A window holding only the real feeds' items as news of the hour before `at`, as the
    stream benchmark counts them (skips the test when ../shared/data/feeds is absent)."""
    index = StoryIndex()
    for title, text in _general_news():
        index.observe_text(title, text, at - timedelta(hours=1))
    return index


def quiet_day(at: datetime) -> StoryIndex:
    """The window at `at` (skips the test when ../shared/data/feeds is absent)."""
    index = general_news(at)
    for number, ((title, text), hours) in enumerate(zip(STORIES, HOURS_BEFORE, strict=True)):
        place(index, f"quiet{number}", title, text, at - timedelta(hours=hours))
    return index


def second_reports(pair: dict[str, Any]) -> list[tuple[Assignment, StoryIndex]]:
    """Place a pair of reports (`a`, `b`, `date`) on a quiet day, an hour apart, in either
    order; per order: where the second went, and the window (to explain it)."""
    at = datetime.fromisoformat(pair["date"])
    placed = []
    for one, two in ((pair["a"], pair["b"]), (pair["b"], pair["a"])):
        index = quiet_day(at)
        place(index, "one", one["title"], one["text"], at)
        placed.append(
            (place(index, "two", two["title"], two["text"], at + timedelta(hours=1)), index)
        )
    return placed


@functools.lru_cache(maxsize=8)
def replayed(stream: Path, news: bool) -> dict[str, tuple[str, str, str]]:
    """Place every report of a benchmark stream in arrival order, in an empty window or, with
    `news`, one holding the real feeds' items as general news (as the benchmark counts them);
    per report id: its kind, its story's first report's event, and its own event."""
    reports = yaml.safe_load(stream.read_text(encoding="utf-8"))
    times = [datetime.fromisoformat(str(r["time"]).replace("Z", "+00:00")) for r in reports]
    index = general_news(times[0]) if news else StoryIndex()
    opened: dict[str, str] = {}  # story -> event of its first report
    placed = {}
    for report, at in zip(reports, times, strict=True):
        found = place(index, report["id"], report["title"], report["text"], at)
        opened.setdefault(found.story, report["event"])
        placed[report["id"]] = (found.kind, opened[found.story], report["event"])
    return placed


def not_merged(stream: Path, keys: Iterable[str]) -> list[str]:
    """The reports among `keys` of a benchmark stream, replayed with the general news, that did
    not join their own event's story as the same report."""
    placed = replayed(stream, news=True)
    return [key for key in keys if placed[key][0] != "same" or placed[key][1] != placed[key][2]]
