"""A parsed query: its nodes (terms, AND, OR, NOT, NEAR) and walks over the tree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Mode = Literal["exact", "prefix", "suffix", "infix"]
Field = Literal["any", "title", "text", "lead"]


@dataclass(frozen=True, slots=True)
class Word:
    """One folded word pattern and how it may sit inside an article's word."""

    text: str
    mode: Mode = "exact"


@dataclass(frozen=True, slots=True)
class Term:
    """A word or a phrase, scoped to a field, with a weight."""

    words: tuple[Word, ...]
    field: Field = "any"
    weight: float = 1.0
    origin: str | None = None  # the named term list it came from, if any


@dataclass(frozen=True, slots=True)
class And:
    """All children must match."""

    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """At least one child must match."""

    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The child must not match."""

    child: Node


@dataclass(frozen=True, slots=True)
class Near:
    """Both sides match within `distance` words of each other, in either order."""

    left: Node
    right: Node
    distance: int


Node = Term | And | Or | Not | Near


def size(node: Node) -> tuple[int, int]:
    """Return a tree's depth and its number of nodes (without recursion: any tree is safe)."""
    deepest, count = 0, 0
    stack: list[tuple[Node, int]] = [(node, 1)]
    while stack:
        current, depth = stack.pop()
        count += 1
        deepest = max(deepest, depth)
        if isinstance(current, Not):
            stack.append((current.child, depth + 1))
        elif isinstance(current, Near):
            stack += [(current.left, depth + 1), (current.right, depth + 1)]
        elif isinstance(current, And | Or):
            stack += [(child, depth + 1) for child in current.children]
    return deepest, count


def origin(node: Node) -> str | None:
    """Return the term list every term of `node` came from, if they share one."""
    found = {term.origin for term in terms(node)}
    return found.pop() if len(found) == 1 else None


def lists_in(node: Node, found: dict[str, Node] | None = None) -> dict[str, Node]:
    """Return the term lists a parsed query used, each with the part of the tree it gave."""
    found = {} if found is None else found
    source = origin(node)
    if source is not None:
        found.setdefault(source, node)
        return found
    children: tuple[Node, ...] = ()
    if isinstance(node, Not):
        children = (node.child,)
    elif isinstance(node, Near):
        children = (node.left, node.right)
    elif isinstance(node, And | Or):
        children = node.children
    for child in children:
        lists_in(child, found)
    return found


def terms(node: Node) -> list[Term]:
    """Return every term in the tree, in reading order."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return terms(node.child)
    if isinstance(node, Near):
        return terms(node.left) + terms(node.right)
    return [term for child in node.children for term in terms(child)]
