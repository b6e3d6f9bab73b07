"""A story decision: where an article belongs, how it relates, and the evidence, in words.

The story rule (stories.py) returns one for every alerted article; `/why`, `monitor explain` and
the log show it to people.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["new", "same", "followup"]


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where an article belongs, how it relates, and the evidence for the decision."""

    story: str  # the story it joins (same) or opens (new, followup)
    kind: Kind
    score: float
    near_duplicate: bool = False
    compared_with: str | None = None  # the first report of the closest story
    continues: str | None = None  # for a follow-up: the story it replies to
    shared: tuple[str, ...] = ()  # the specific terms both share, rarest first
    reason: str = ""
    across: bool = False  # compared across languages (names, figures, dates, concepts only)

    def describe(self, titles: dict[str, str] | None = None) -> str:
        """One line for people: the decision and its evidence."""
        other = (titles or {}).get(self.compared_with or "", self.compared_with or "")
        shared = ", ".join(self.shared[:12]) or "nothing specific"
        score = f"{'across languages, ' if self.across else ''}score {self.score:.2f}"
        if self.kind == "same":
            how = "a near-duplicate of" if self.near_duplicate else "the same report as"
            return f"{how} {other!r} ({score}; shared: {shared})"
        if self.kind == "followup" and self.near_duplicate:
            return f"a follow-up of {other!r}: a near-duplicate of it, but {self.reason}"
        if self.kind == "followup":
            why = f"; not the same report: {self.reason}" if self.reason else ""
            return f"a follow-up of {other!r} ({score}; shared: {shared}{why})"
        if self.compared_with is None:
            return "a new story (no earlier story shares its specifics)"
        return f"a new story: closest {other!r}, {score}, {self.reason}"
