"""Matching quality of the shipped topics on the labelled cases: precision, recall, F1.

Usage (from the repository root, inside .venv):
    python bench/quality/run.py [--cases bench/quality/cases.yaml] [--topics config/topics.yaml]

Every (case, topic) pair counts once: a true positive when the topic matched a case labelled
with it, a false positive when it matched a case without that label, a false negative when it
missed one. Misses and false alarms are listed so a topic can be tuned for the kind of report,
not for a sentence.

A set written by `monitor labels export` (the alerts analysts graded; `kind: graded`) is
labelled with topic names instead of the short keys below, and is scored on every topic of
the topics file; "overall" then counts them all.
"""

from __future__ import annotations

import argparse
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from monitor.config import load_topics
from monitor.match import Matcher
from monitor.models import Article, Entry

ROOT = Path(__file__).resolve().parents[2]
LABELS = {
    "troops": "North Korean troops in Russia",
    "weapons": "North Korean missiles and shells for Russia",
    "tech": "Russian military technology for North Korea",
    "un": "UN Security Council resolutions and sanctions",
    "summit": "Summits, partnership treaty and international reactions",
    "context": "Civil ties between Russia and North Korea (context)",
}
# The instant-alert topics; `context` goes to a daily digest and is reported on its own.
MILITARY = ("troops", "weapons", "tech", "un", "summit")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=ROOT / "bench/quality/cases.yaml")
    parser.add_argument("--topics", type=Path, default=ROOT / "config/topics.yaml")
    parser.add_argument("--quiet", action="store_true", help="do not list the errors")
    args = parser.parse_args()

    cases = yaml.safe_load(args.cases.read_text(encoding="utf-8"))
    topics = load_topics(args.topics, ["default"])
    matcher = Matcher(topics)
    names = {topic.name for topic in topics}
    labels, overall = LABELS, MILITARY
    if any(case.get("kind") == "graded" for case in cases):  # labelled with topic names
        labels = {name: name for name in sorted(names)}
        overall = tuple(labels)
    missing = [name for name in labels.values() if name not in names]
    if missing:
        print(f"topics file lacks labelled topics: {missing}", file=sys.stderr)
        return 2

    counts, errors = _score(cases, matcher, labels)

    print(f"matching quality on {len(cases)} cases ({args.cases.name}, {args.topics.name})")
    print(
        f"run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({platform.machine()}, Python {platform.python_version()})"
    )
    print(f"{'topic':<10} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>10} {'recall':>8} {'F1':>6}")
    total = {"tp": 0, "fp": 0, "fn": 0}
    for key in overall:
        for k in total:
            total[k] += counts[key][k]
        print(_row(key, counts[key]))
    print(_row("overall", total))
    if "context" in counts:
        print(_row("context", counts["context"]) + "   (digest only, not in overall)")
    if not args.quiet:
        print("\n".join(["", *sorted(errors)]) if errors else "\nno errors")
    return 0


def _score(
    cases: list[dict[str, Any]], matcher: Matcher, labels: dict[str, str]
) -> tuple[dict[str, dict[str, int]], list[str]]:
    """Count true and false positives and misses per label; list every error."""
    counts = {key: {"tp": 0, "fp": 0, "fn": 0} for key in labels}
    errors: list[str] = []
    for case in cases:
        entry = Entry("bench", None, None, case["title"], "", None)
        found = {m.topic for m in matcher.match(Article(entry, case["text"], True))}
        for key, name in labels.items():
            labelled, predicted = key in case["labels"], name in found
            if labelled and predicted:
                counts[key]["tp"] += 1
            elif predicted:
                counts[key]["fp"] += 1
                errors.append(f"false alarm  {key:<8} {case['id']}: {case['title']}")
            elif labelled:
                counts[key]["fn"] += 1
                errors.append(f"missed       {key:<8} {case['id']}: {case['title']}")
    return counts, errors


def _row(name: str, c: dict[str, int]) -> str:
    precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
    recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    counts = f"{c['tp']:>4} {c['fp']:>4} {c['fn']:>4}"
    return f"{name:<10} {counts} {precision:>10.3f} {recall:>8.3f} {f1:>6.3f}"


if __name__ == "__main__":
    raise SystemExit(main())
