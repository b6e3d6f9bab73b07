"""Story identity in a stream: what analysts are notified of when reports arrive one by one.

Usage (from the repository root, inside .venv):
    python bench/stories/run.py [--members 10000] [--show-errors]

Each half of the stream (the held-out streams first, then stream-tuning.yaml; see README.md here)
is replayed in arrival order through the story index exactly as the service places an alerted
article (`monitor.stories.place`), once at its own times (72 hours) and once as a burst (the same
order squeezed into two hours). The window's word frequencies also count the items of the real
German feeds in ../shared/data when present, as the general news of a real window would.

Figures, per half and condition:
- swallowed: first reports of an event (new events and follow-ups) placed as "the same report"
  of a story, i.e. only an edit of another message, which Telegram does not notify;
- merged: later reports of an event placed as the same report of a story opened by that event;
  cross-language: those whose event was so far reported only in the other language;
- follow-ups notified: first reports of a follow-up event that were not swallowed, and how many
  were threaded as a reply to the story they continue;
- pairwise precision / recall / F1 of the final "same report" clusters (as in Miranda et al.,
  EMNLP 2018), and the precision of single "same" decisions.
The cost run times `place` with --members synthetic members already in the window.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import sys
import time
import tracemalloc
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from monitor.parse import html_to_text, parse_feed
from monitor.stories import Assignment, StoryIndex, place

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "bench" / "stories"
FEEDS = ROOT.parent / "shared" / "data" / "feeds"
BURST = timedelta(hours=2)
STREAMS = ("heldout2", "heldout", "adversarial", "tuning", "tuning2", "tuning3")


@dataclass
class Tally:
    """Counts for one replay."""

    firsts: int = 0
    swallowed: list[str] = field(default_factory=list)
    repeats: int = 0
    merged: int = 0
    missed: list[str] = field(default_factory=list)
    cross: int = 0
    cross_merged: int = 0
    replied: int = 0  # later reports not merged but threaded as a reply to their own event
    followups: int = 0
    followups_notified: int = 0
    followups_threaded: int = 0
    same_decisions: int = 0
    same_right: int = 0
    pair_tp: int = 0
    pair_fp: int = 0
    pair_fn: int = 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--members", type=int, default=10_000, help="window size for the cost run (0: none)"
    )
    parser.add_argument("--show-errors", action="store_true", help="list every wrong decision")
    parser.add_argument(
        "--streams",
        nargs="+",
        default=list(STREAMS),
        choices=STREAMS,
        help="which streams to replay (held-out ones first by default)",
    )
    args = parser.parse_args()
    background = _background()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(
        f"command: python bench/stories/run.py --members {args.members}"
        f" --streams {' '.join(args.streams)}"
    )
    print(f"background: {len(background)} items of real feeds counted as general news\n")
    for half in args.streams:
        reports = yaml.safe_load((HERE / f"stream-{half}.yaml").read_text(encoding="utf-8"))
        for burst in (False, True):
            tally = replay(reports, background, burst, args.show_errors)
            _print(
                f"{half} ({len(reports)} reports, {'2-hour burst' if burst else 'own times'})",
                tally,
            )
    if args.members:
        _cost(background, args.members)
    return 0


def _background() -> list[tuple[str, str]]:
    if not FEEDS.is_dir():
        return []
    texts = []
    for path in sorted(FEEDS.glob("*.xml")):
        for entry in parse_feed(path.stem, path.read_bytes(), {}).entries:
            texts.append((entry.title, html_to_text(entry.summary)))
    return texts


def _times(reports: list[dict[str, Any]], burst: bool) -> list[datetime]:
    times = [datetime.fromisoformat(str(r["time"]).replace("Z", "+00:00")) for r in reports]
    if not burst:
        return times
    start, span = times[0], (times[-1] - times[0]) or timedelta(seconds=1)
    return [start + (t - start) * (BURST / span) for t in times]


def replay(
    reports: list[dict[str, Any]],
    background: list[tuple[str, str]],
    burst: bool,
    show: bool,
) -> Tally:
    """Place every report in arrival order and score each decision against the labels."""
    times = _times(reports, burst)
    index = StoryIndex()
    for title, text in background:
        index.observe_text(title, text, times[0] - timedelta(hours=1))
    tally = Tally()
    head_event: dict[str, str] = {}  # story -> the event of the report that opened it
    clusters: dict[str, list[str]] = defaultdict(list)  # story -> events of its reports
    seen_langs: dict[str, set[str]] = defaultdict(set)  # event -> languages reported so far
    for report, at in zip(reports, times, strict=True):
        placed = place(index, report["id"], report["title"], report["text"], at)
        if placed.kind != "same":
            head_event.setdefault(placed.story, report["event"])
        clusters[placed.story if placed.kind != "followup" else report["id"]].append(
            report["event"]
        )
        missed, swallowed = len(tally.missed), len(tally.swallowed)
        _score(tally, report, placed, head_event, seen_langs)
        if len(tally.missed) > missed:
            tally.missed[-1] += f"\n      {placed.describe(index.titles())}"
        if len(tally.swallowed) > swallowed:
            tally.swallowed[-1] += f"\n      {placed.describe(index.titles())}"
        seen_langs[report["event"]].add(report["lang"])
    _pairs(tally, list(clusters.values()), [r["event"] for r in reports])
    if show:
        for line in tally.swallowed:
            print(f"  swallowed: {line}")
        for line in tally.missed:
            print(f"  not merged: {line}")
    return tally


def _score(
    tally: Tally,
    report: dict[str, Any],
    placed: Assignment,
    head_event: dict[str, str],
    seen_langs: dict[str, set[str]],
) -> None:
    """Count one decision: a first report must notify, a later one should merge."""
    event = report["event"]
    same_as = head_event.get(placed.story) if placed.kind == "same" else None
    if placed.kind == "same":
        tally.same_decisions += 1
        tally.same_right += same_as == event
    if event not in seen_langs:
        tally.firsts += 1
        if placed.kind == "same":
            tally.swallowed.append(f"{report['id']} {event} into {same_as}: {report['title']}")
        if report.get("follows"):
            tally.followups += 1
            tally.followups_notified += placed.kind != "same"
            tally.followups_threaded += placed.kind == "followup"
        return
    tally.repeats += 1
    cross = report["lang"] not in seen_langs[event]
    merged = same_as == event
    tally.merged += merged
    tally.cross += cross
    tally.cross_merged += cross and merged
    tally.replied += placed.kind == "followup" and head_event.get(placed.continues or "") == event
    if not merged:
        what = f"same ({same_as})" if placed.kind == "same" else placed.kind
        tally.missed.append(f"{report['id']} {event} as {what}: {report['title']}")


def _pairs(tally: Tally, clusters: list[list[str]], events: list[str]) -> None:
    sizes: dict[str, int] = defaultdict(int)
    for event in events:
        sizes[event] += 1
    true_pairs = sum(n * (n - 1) // 2 for n in sizes.values())
    for members in clusters:
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if a == b:
                    tally.pair_tp += 1
                else:
                    tally.pair_fp += 1
    tally.pair_fn = true_pairs - tally.pair_tp


def _rate(part: int, whole: int) -> str:
    return f"{part / whole:.3f} ({part}/{whole})" if whole else "-"


def _print(label: str, t: Tally) -> None:
    precision = t.pair_tp / (t.pair_tp + t.pair_fp) if t.pair_tp + t.pair_fp else 1.0
    recall = t.pair_tp / (t.pair_tp + t.pair_fn) if t.pair_tp + t.pair_fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    print(label)
    print(f"  swallowed (first reports edited into a story)  {_rate(len(t.swallowed), t.firsts)}")
    print(f"  same-event reports merged                      {_rate(t.merged, t.repeats)}")
    print(f"    cross-language                               {_rate(t.cross_merged, t.cross)}")
    print(
        f"    others threaded as a reply to their event    {_rate(t.replied, t.repeats - t.merged)}"
    )
    print(
        f"  follow-ups notified                            {_rate(t.followups_notified, t.followups)}"
    )
    print(
        f"    threaded as a reply                          {_rate(t.followups_threaded, t.followups)}"
    )
    print(
        f"  'same' decisions right                         {_rate(t.same_right, t.same_decisions)}"
    )
    print(f"  pairwise precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}\n")


def _cost(background: list[tuple[str, str]], members: int) -> None:
    """Median `place` time with `members` synthetic alerted articles in the window."""
    rng = random.Random(3)
    vocabulary = [title.split()[0] for title, _ in background if title.split()] or ["Wort"]
    words = [f"{w}{n}" for n in range(40) for w in vocabulary[:200]]
    start = datetime.fromisoformat("2026-03-02T00:00:00+00:00")
    index = StoryIndex()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for number in range(members):
        at = start + timedelta(seconds=20 * number * 10_000 / members)
        text = " ".join(rng.choices(words, k=90)) + f" {rng.randrange(100, 99_999)} Soldaten."
        place(index, f"m{number}", " ".join(rng.choices(words, k=8)), text, at)
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    at = start + timedelta(hours=56)
    timings = []
    for number in range(300):
        text = " ".join(rng.choices(words, k=90))
        began = time.perf_counter()
        place(index, f"probe{number}", " ".join(rng.choices(words, k=8)), text, at)
        timings.append(time.perf_counter() - began)
    timings.sort()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"cost with {len(index)} members in the window (300 placements):")
    print(f"  median {timings[150] * 1000:.2f} ms, p95 {timings[284] * 1000:.2f} ms per article")
    print(
        f"  memory {used / len(index) / 1024:.2f} KiB per member (tracemalloc); peak RSS {peak:.0f} MiB"
    )


if __name__ == "__main__":
    raise SystemExit(main())
