"""Story identity on a quiet day: pairs of reports in a window of general news.

Usage (from the repository root, inside .venv):
    python bench/stories/pairs.py [--pairs bench/stories/pairs-probe.yaml] [--show-errors]

Each pair of `pairs-quiet-day.yaml` (labelled distinct, followup or same) is placed in both
orders into a fresh story index holding the real feeds' items in ../shared/data as general news
and the file's eight same-topic stories of other events (18 to 1.5 hours before): the first
report at its date, the second an hour later (a follow-up also 20 hours later). On such a day
the topic's words are rare among all news, which the streams of `run.py` cannot show. Figures:
distinct or follow-up second reports judged "same" (hidden in an edit; must be 0), first
reports swallowed by a window story, and second reports of one event merged into the first.
The pairs are tuning data (see README.md).
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from run import _background

from monitor.stories import StoryIndex, place

HERE = Path(__file__).resolve().parent
HOURS_BEFORE = (18, 15.5, 13, 11, 8.5, 6, 3.5, 1.5)


def placements(
    pair: dict[str, Any], window: list[dict[str, str]], background: list[tuple[str, str]]
) -> list[tuple[str, bool, str]]:
    """Place the pair every way asked; per way: its label, whether the first report was
    swallowed, and what went wrong with the second ("" when nothing)."""
    results = []
    gaps = (1, 20) if pair["label"] == "followup" else (1,)
    for first, second in ((pair["a"], pair["b"]), (pair["b"], pair["a"])):
        for gap in gaps:
            at = datetime.fromisoformat(pair["date"])
            index = StoryIndex()
            for title, text in background:
                index.observe_text(title, text, at - timedelta(hours=1))
            for number, (story, hours) in enumerate(zip(window, HOURS_BEFORE, strict=True)):
                place(
                    index, f"w{number}", story["title"], story["text"], at - timedelta(hours=hours)
                )
            one = place(index, "first", first["title"], first["text"], at)
            two = place(index, "second", second["title"], second["text"], at + timedelta(hours=gap))
            merged = two.kind == "same" and two.story == one.story
            wrong = (not merged) if pair["label"] == "same" else two.kind == "same"
            why = f"{pair['id']} +{gap}h {second['title']!r}: {two.describe(index.titles())}"
            results.append((pair["label"], one.kind == "same", why if wrong else ""))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-errors", action="store_true", help="list every wrong placement")
    parser.add_argument(
        "--pairs", type=Path, default=HERE / "pairs-quiet-day.yaml", help="the pairs to place"
    )
    args = parser.parse_args()
    data = yaml.safe_load(args.pairs.read_text(encoding="utf-8"))
    background = _background()
    rows = [row for pair in data["pairs"] for row in placements(pair, data["window"], background)]
    hidden = [r for r in rows if r[0] != "same" and r[2]]
    others = [r for r in rows if r[0] != "same"]
    same = [r for r in rows if r[0] == "same"]
    print(f"background: {len(background)} items of real feeds; {len(data['pairs'])} pairs")
    print(f"  distinct or follow-up judged 'same'  {len(hidden)}/{len(others)}")
    print(f"  first reports swallowed              {sum(r[1] for r in rows)}/{len(rows)}")
    print(f"  one event merged                     {sum(not r[2] for r in same)}/{len(same)}")
    if args.show_errors:
        for label, _, why in rows:
            if why:
                print(f"  [{label}] {why}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
