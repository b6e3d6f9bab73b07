"""Whether two headlines' marks (story_marks.py) say they report two events.

A headline's marks name what happened, where, which third state acted, who and whose envoy.
When two headlines both name something of one kind and share nothing of that kind, or one says
"again" or denies while the other does not, or their first-named actors differ and neither
headline names the other's, they report two events, whatever else they share.
"""

from __future__ import annotations

from collections.abc import Collection

from monitor.story_marks import HAPPENING_KINDS


def clash(
    mine: Collection[str],
    theirs: Collection[str],
    repeated: tuple[bool, bool] = (False, False),
) -> str:
    """Say why two headlines cannot report one event ("different places (kursk, not
    belgorod)": `mine` first), or "" when every kind both name has a mark in common.
    `repeated`: whether each report's text says its event happened before (`repeats`)."""
    noted = _noted(mine, theirs, repeated)
    if noted:
        return noted
    if not mine or not theirs:
        return ""
    kinds_mine = _by_kind(mine)
    kinds_theirs = _by_kind(theirs)
    for compared in ("note", "done"):  # compared above, one against the other
        kinds_mine.pop(compared, None)
        kinds_theirs.pop(compared, None)
    subjects = kinds_mine.pop("subject", set()), kinds_theirs.pop("subject", set())
    institution = any(m.startswith(_INSTITUTIONS) for m in (*mine, *theirs))
    steps = _steps(kinds_mine, kinds_theirs) if institution else ""
    if steps:
        return steps
    for kind in sorted(kinds_mine.keys() & kinds_theirs.keys()):
        if kind == "resolution" and not institution and _one_decision(kinds_mine, kinds_theirs):
            continue  # "vereinbaren" and "beschließen" at a summit: one decision, two words
        if not kinds_mine[kind] & kinds_theirs[kind]:
            one = ", ".join(sorted(kinds_mine[kind]))
            other = ", ".join(sorted(kinds_theirs[kind]))
            return f"different {_KIND_WORDS[kind]} ({one}, not {other})"
    families_mine, one = _happenings(kinds_mine)
    families_theirs, other = _happenings(kinds_theirs)
    if families_mine and families_theirs and not families_mine & families_theirs:
        return f"different happenings ({one}, not {other})"
    return _other_actors(*subjects, mine, theirs)


def _other_actors(
    mine: set[str], theirs: set[str], marks_mine: Collection[str], marks_theirs: Collection[str]
) -> str:
    """Say why two headlines whose first-named actors differ, neither named by the other
    headline at all, tell two events ("Seoul will gefangene Nordkoreaner aufnehmen" after
    "Zelenskyy releases video of captured North Korean soldiers"), or ""."""
    if not mine or not theirs or mine == theirs:
        return ""
    named_mine = with_states({m.partition(":")[2] for m in marks_mine})
    named_theirs = with_states({m.partition(":")[2] for m in marks_theirs})
    if with_states(mine) & named_theirs or with_states(theirs) & named_mine:
        return ""
    return f"different actors ({', '.join(mine)}, not {', '.join(theirs)})"


def with_states(names: Collection[str]) -> set[str]:
    """Names with the states or alliances their people speak for (Wadephul: Germany)."""
    return set(names) | {_SPEAKS_FOR[name] for name in names if name in _SPEAKS_FOR}


# The people of story_marks who speak for a third state, an alliance or another person.
_SPEAKS_FOR = {
    "wadephul": "germany", "pistorius": "germany", "rutte": "nato", "takaichi": "japan",
    "lee": "southkorea", "trump": "usa", "rubio": "usa", "kallas": "eu", "xi": "china",
    "lukashenko": "belarus", "peskov": "putin",
}  # fmt: skip


def _noted(mine: Collection[str], theirs: Collection[str], repeated: tuple[bool, bool]) -> str:
    """Say why two headlines' notes tell two events: one says "again" or denies and the other
    does not, or one tells a plan and the other an act done ("one headline ..."), or ""."""
    for note, says in _NOTES.items():
        if note == "note:ahead":
            if _ahead(mine, theirs) or _ahead(theirs, mine):
                return f"one headline {says}"
        elif (note in mine) != (note in theirs) and not _answered(note, mine, repeated):
            return f"one headline {says}"
    return ""


def _ahead(plan: Collection[str], other: Collection[str]) -> bool:
    """Whether a plan headline is told apart from another that reports as done an act the plan
    headline does not ("Putin to visit" / "Putin arrives, expected to sign pact")."""
    if "note:ahead" not in plan:
        return False
    done = {m for m in other if m.startswith("done:")} - set(plan)
    return bool(done)


# Who takes a decision in steps: the EU's envoys agree, its ministers adopt; a chamber votes.
_INSTITUTIONS = ("state:eu", "envoy:", "chamber:")
_DECISIONS = ("treaty", "sanctions", "resolution")  # the kinds of one family, decisions


def _steps(mine: dict[str, set[str]], theirs: dict[str, set[str]]) -> str:
    """Say why an institution's agreement and its act are two steps ("EU einigt sich auf
    Sanktionen", then "EU verhängt Sanktionen"), or ""."""
    for one, other in ((mine, theirs), (theirs, mine)):
        agreed = "agreed" in one.get("resolution", ())
        acted = any(other.get(kind, set()) - {"agreed"} for kind in _DECISIONS)
        if agreed and acted and "agreed" not in other.get("resolution", ()):
            return "different steps (agreed, not enacted)"
    return ""


def _one_decision(mine: dict[str, set[str]], theirs: dict[str, set[str]]) -> bool:
    """Whether two headlines name one decision as agreed and as adopted."""
    return mine.get("resolution", set()) | theirs.get("resolution", set()) == {"agreed", "adopted"}


def _answered(note: str, mine: Collection[str], repeated: tuple[bool, bool]) -> bool:
    """Whether the other report's text says what one headline's note says: a repeat."""
    return note == "note:again" and repeated[1 if note in mine else 0]


def _happenings(kinds: dict[str, set[str]]) -> tuple[set[str], str]:
    """The families of what a headline says happened, and those marks in words."""
    named = sorted(f"{kind}:{name}" for kind in kinds.keys() & _ACTIONS for name in kinds[kind])
    return {_ACTIONS[kind] for kind in kinds.keys() & _ACTIONS}, ", ".join(named)


# Kinds that say what happened, by family: two headlines that each name one, and none of a
# family in common, report two happenings ("arrives in Pyongyang" and "agree closer
# coordination"). A decision can be told as sanctions, a vote or a treaty step ("adopts
# sanctions", "verhängt Einreiseverbote"): one family.
_ACTIONS = {kind: "decision" if kind in _DECISIONS else kind for kind in HAPPENING_KINDS}


_NOTES = {
    "note:denial": "denies or corrects",
    "note:again": "says again, another or also",
    "note:ahead": "tells a plan or expectation",
}

_KIND_WORDS = {
    "movement": "movements",
    "fate": "fates",
    "treaty": "treaty steps",
    "outcome": "outcomes",
    "sanctions": "sanction steps",
    "resolution": "votes",
    "arms": "arms",
    "tech": "technologies",
    "place": "places",
    "state": "states",
    "person": "people",
    "envoy": "envoys",
    "chamber": "chambers",
}


def _by_kind(found: Collection[str]) -> dict[str, set[str]]:
    kinds: dict[str, set[str]] = {}
    for mark in found:
        kind, _, name = mark.partition(":")
        kinds.setdefault(kind, set()).add(name)
    return kinds
