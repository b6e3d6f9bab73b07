"""A topic's query evaluated against an article's term occurrences (`occurrences.py`):
whether it holds, the words that make it hold, its score's terms, and the clause that failed.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable

from monitor.document import Document
from monitor.occurrences import Context
from monitor.query import And, Near, Node, Not, Term, term_text, to_query


def has_not(node: Node) -> bool:
    if isinstance(node, Not):
        return True
    if isinstance(node, Term):
        return False
    if isinstance(node, Near):
        return has_not(node.left) or has_not(node.right)
    return any(has_not(child) for child in node.children)


def holds(node: Node, ctx: Context) -> bool:
    """Say whether `node` is true: `evaluate(node, ctx) is not None`, but stopping early."""
    ctx.spend(1)
    if isinstance(node, Term):
        return bool(ctx.occurrences(node))
    if isinstance(node, Not):
        return not holds(node.child, ctx)
    if isinstance(node, And):
        return all(holds(child, ctx) for child in node.children)
    if isinstance(node, Near):
        return _near(node, ctx) is not None
    shortcut = ctx.shortcuts.get(id(node))
    if shortcut is None:
        return any(holds(child, ctx) for child in node.children)
    return bool(ctx.occurring(shortcut)) or any(holds(child, ctx) for child in shortcut.others)


def evaluate(node: Node, ctx: Context) -> set[int] | None:
    """Return the word indexes that make `node` true (possibly none), or None if it is false."""
    ctx.spend(1)
    if isinstance(node, Term):
        found = ctx.occurrences(node)
        return set(found) if found else None
    if isinstance(node, Not):
        return set() if evaluate(node.child, ctx) is None else None
    if isinstance(node, And):
        union: set[int] = set()
        for child in node.children:
            child_hits = evaluate(child, ctx)
            if child_hits is None:
                return None
            union |= child_hits
        return union
    if isinstance(node, Near):
        return _near(node, ctx)
    shortcut = ctx.shortcuts.get(id(node))
    children = node.children if shortcut is None else (*ctx.occurring(shortcut), *shortcut.others)
    any_hits: set[int] | None = None
    for child in children:
        child_hits = evaluate(child, ctx)
        if child_hits is None:
            continue
        if any_hits is None:
            any_hits = child_hits  # a fresh set from the child: ours to extend
        else:
            any_hits |= child_hits
    return any_hits


def _near(node: Near, ctx: Context) -> set[int] | None:
    """Return the words of either side that have a word of the other side within reach.

    Sorted positions and binary search: (left + right) log(right) steps, not left x right
    (a chain of NEARs over common prefixes made that minutes per article).
    """
    left = evaluate(node.left, ctx)
    if not left or ctx.doc is None:
        return None
    right = evaluate(node.right, ctx)
    if not right:
        return None
    ctx.spend(len(left) + len(right))
    position = ctx.doc.position
    reach = node.distance + 1
    close = _within(left, sorted(map(position, right)), position, reach)
    if not close:
        return None
    return close | _within(right, sorted(map(position, left)), position, reach)


def _within(
    indexes: Iterable[int], others: list[int], position: Callable[[int], int], reach: int
) -> set[int]:
    """Return the indexes whose position lies within `reach` of one of `others` (sorted)."""
    found = set()
    for index in indexes:
        at = position(index)
        nearest = bisect.bisect_left(others, at - reach)
        if nearest < len(others) and others[nearest] <= at + reach:
            found.add(index)
    return found


def scored_terms(node: Node) -> list[Term]:
    """Return the terms that count towards the score: all but those under NOT."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return []
    if isinstance(node, Near):
        return scored_terms(node.left) + scored_terms(node.right)
    return [t for child in node.children for t in scored_terms(child)]


def covered(ctx: Context, found_terms: Iterable[Term]) -> list[int]:
    """Return the word indexes the terms' occurrences cover, in order."""
    return sorted(set().union(*map(ctx.occurrences, found_terms)))


def surface(doc: Document, indexes: Iterable[int]) -> tuple[str, ...]:
    """Return the words of the article at `indexes`, as written, first seen first."""
    return tuple(dict.fromkeys(doc.full[slice(*doc.span(i))] for i in indexes))


def why_not(node: Node, ctx: Context) -> str:
    """Name the clause that made `node` false."""
    if isinstance(node, Term):
        where = {
            "any": "",
            "title": " in the title",
            "text": " in the text",
            "lead": " in the title or lead",
        }[node.field]
        return f"no {term_text(node)}{where}"
    if isinstance(node, Not):
        return f"excluded by NOT {_short(to_query(node.child))}"
    if isinstance(node, Near):
        for side in (node.left, node.right):
            if evaluate(side, ctx) is None:
                return why_not(side, ctx)
        return (
            f"{_short(to_query(node.left))} and {_short(to_query(node.right))} "
            f"never within {node.distance} words"
        )
    if isinstance(node, And):
        failed = next(child for child in node.children if evaluate(child, ctx) is None)
        return why_not(failed, ctx)
    return f"none of {_short(to_query(node))}"


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
