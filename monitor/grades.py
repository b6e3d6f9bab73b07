"""Topic precision as the analysts graded it: counts per topic and a Wilson score interval.

Pure: the store counts, this module turns counts into figures and lines for `monitor status`,
`/status` and `/metrics`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Label = Literal["relevant", "irrelevant"]
LABELS: tuple[Label, ...] = ("relevant", "irrelevant")
# 95 % two-sided
Z = 1.959964


@dataclass(frozen=True, slots=True)
class TopicGrades:
    """One topic over a period: alerts sent, how many were graded, how many of those relevant."""

    topic: str
    sent: int
    graded: int
    relevant: int

    @property
    def precision(self) -> float | None:
        """The share of graded alerts graded relevant, None before the first grade."""
        return self.relevant / self.graded if self.graded else None

    def interval(self) -> tuple[float, float] | None:
        """The 95 % Wilson score interval of the precision, None before the first grade."""
        return wilson(self.relevant, self.graded) if self.graded else None


def wilson(successes: int, trials: int, z: float = Z) -> tuple[float, float]:
    """Wilson's score interval for a proportion: sound for small counts and near 0 or 1,
    where the textbook p ± z·sqrt(p(1-p)/n) collapses to a point."""
    if trials <= 0:
        raise ValueError("no trials")
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def tally(
    sent: Iterable[tuple[int, Sequence[str]]], grades: Iterable[tuple[int, str]]
) -> list[TopicGrades]:
    """Count per topic from alerts (id, topics) and each graded alert's label (id, label).

    An alert matching two topics counts for both; topics come out by name.
    """
    label_of = dict(grades)
    counts: dict[str, list[int]] = {}
    for alert_id, topics in sent:
        label = label_of.get(alert_id)
        for topic in topics:
            row = counts.setdefault(topic, [0, 0, 0])
            row[0] += 1
            row[1] += label is not None
            row[2] += label == "relevant"
    return [TopicGrades(topic, *row) for topic, row in sorted(counts.items())]


def precision_lines(period: str, rows: Sequence[TopicGrades]) -> list[str]:
    """Say, per topic, what the analysts graded over `period` ("7 days")."""
    lines = []
    for row in rows:
        head = f"topic {row.topic}, {period}: {row.sent} sent, {row.graded} graded"
        interval = row.interval()
        if interval is None or row.precision is None:
            lines.append(head)
            continue
        low, high = interval
        lines.append(f"{head}, precision {row.precision:.2f} (95 % interval {low:.2f}-{high:.2f})")
    return lines
