"""Story grouping quality and cost: same-story merge rate, false merges, follow-up threading.

Usage (from the repository root, inside .venv):
    python bench/dedup/run.py [--window 100000]

Cases are in bench/dedup/stories.yaml (written for this project; see README.md here). Each
decision is made the way the service makes it: the document frequencies come from every text of
the bench plus, when ../shared/data is present, the items of its real German feeds (the kind of
general news that fills a real window), and the story index holds only the earlier report(s).

- same-story pair: the second report must be `same` (edit the story's message);
- different-story pair (same group, i.e. same topic): `same` is a false merge, `followup` a
  false thread (a new alert, wrongly threaded as a reply);
- follow-up: `followup` is right, `same` would hide new facts in an edit.

The cost is `assign` + `add` per article with `--window` synthetic members already in the index.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import random
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from monitor.parse import html_to_text
from monitor.stories import StoryIndex, lead_terms, shingle_signature

ROOT = Path(__file__).resolve().parents[2]
FEEDS = ROOT.parent / "shared" / "data" / "feeds"
NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=Path, default=ROOT / "bench/dedup/stories.yaml")
    parser.add_argument("--window", type=int, default=100_000, help="members for the cost run")
    args = parser.parse_args()
    stories: list[dict[str, Any]] = yaml.safe_load(args.stories.read_text(encoding="utf-8"))
    background = _background()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"command: python bench/dedup/run.py --window {args.window}")
    print(f"{len(stories)} stories, {len(background)} background texts from real feeds\n")
    _quality(stories, background)
    _cost(stories, background, args.window)
    return 0


def _text(report: dict[str, Any]) -> tuple[str, str]:
    return report["title"], report["text"]


def _background() -> list[tuple[str, str]]:
    if not FEEDS.is_dir():
        return []
    from monitor.parse import parse_feed

    texts = []
    for path in sorted(FEEDS.glob("*.xml")):
        for entry in parse_feed(path.stem, path.read_bytes(), {}).entries:
            texts.append((entry.title, html_to_text(entry.summary)))
    return texts


def _base_index(stories: list[dict[str, Any]], background: list[tuple[str, str]]) -> StoryIndex:
    index = StoryIndex()
    texts = [_text(r) for s in stories for r in s["reports"]]
    texts += [_text(s["followup"]) for s in stories if "followup" in s]
    for title, text in texts + background:
        index.observe(lead_terms(title, text), NOW)
    return index


def _decide(index: StoryIndex, members: list[dict[str, Any]], new: dict[str, Any]) -> str:
    """Add `members` as one story to a copy of the index and say what `new` becomes."""
    probe = StoryIndex(_df=index._df, _seen=index._seen)  # shared frequencies, own members
    for offset, report in enumerate(members):
        title, text = _text(report)
        probe.add(
            f"m{offset}",
            "story",
            lead_terms(title, text),
            shingle_signature(f"{title}\n{text}"),
            NOW,
        )
    title, text = _text(new)
    decision = probe.assign("new", lead_terms(title, text), shingle_signature(f"{title}\n{text}"))
    return decision.kind


def _quality(stories: list[dict[str, Any]], background: list[tuple[str, str]]) -> None:
    index = _base_index(stories, background)
    same = [_decide(index, [s["reports"][0]], s["reports"][1]) for s in stories]
    different = [
        _decide(index, [x["reports"][0]], y["reports"][1])
        for x, y in itertools.permutations(stories, 2)
        if x["group"] == y["group"]
    ]
    followups = [_decide(index, s["reports"], s["followup"]) for s in stories if "followup" in s]
    merged = same.count("same") / len(same)
    print(f"same-story pairs:      {len(same):4d}  merged {merged:.3f}  (target >= 0.95)", end="")
    print(f"  threaded instead {same.count('followup')}, split {same.count('new')}")
    false_merge = different.count("same") / len(different)
    print(
        f"different-story pairs: {len(different):4d}  false merges {false_merge:.3f}"
        f" (target <= 0.02), falsely threaded {different.count('followup') / len(different):.3f}"
    )
    print(
        f"follow-ups:            {len(followups):4d}  threaded {followups.count('followup')},"
        f" merged as rewording {followups.count('same')}, new story {followups.count('new')}\n"
    )


def _cost(stories: list[dict[str, Any]], background: list[tuple[str, str]], size: int) -> None:
    rng = random.Random(7)
    vocabulary = sorted({t for s in stories for r in s["reports"] for t in r["text"].split()})
    vocabulary += [f"wort{n}" for n in range(50_000)]  # the long tail of a news vocabulary
    rng.shuffle(vocabulary)  # the bench's words somewhere along the curve, not all on top
    weights = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(vocabulary))))  # Zipf
    index = _base_index(stories, background)
    start = time.perf_counter()
    for n in range(size):
        words = rng.choices(vocabulary, cum_weights=weights, k=150)
        title, text = " ".join(words[:10]), " ".join(words[10:])
        terms = lead_terms(title, text)
        at = NOW - timedelta(seconds=size - n)
        index.observe(terms, at)
        index.add(f"s{n}", f"s{n}", terms, shingle_signature(f"{title}\n{text}"), at)
    filled = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    timings = []
    for number, report in enumerate(r for s in stories for r in s["reports"]):
        key = f"bench{number}"
        title, text = _text(report)
        started = time.perf_counter()
        terms = lead_terms(title, text)
        signature = shingle_signature(f"{title}\n{text}")
        decision = index.assign(key, terms, signature)
        index.observe(terms, NOW)
        index.add(key, decision.story, terms, signature, NOW)
        timings.append(time.perf_counter() - started)
    timings.sort()
    print(
        f"cost with {size:,} members in the window (filled in {filled:.0f} s, peak RSS {rss:.0f} MiB):"
    )
    print(
        f"  per article: median {timings[len(timings) // 2] * 1000:.2f} ms,"
        f" p95 {timings[int(len(timings) * 0.95)] * 1000:.2f} ms"
        " (lead terms + MinHash + lookup + add)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
