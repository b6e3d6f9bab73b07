"""A query tree printed back: as query text that parses to the same tree, or in plain words."""

from __future__ import annotations

from monitor.query.tree import And, Near, Node, Not, Or, Term, Word, origin


def to_query(node: Node) -> str:
    """Print a tree as query text that parses back to the same tree."""
    if isinstance(node, Term):
        return term_text(node)
    if isinstance(node, Not):
        return f"NOT {_grouped(node.child)}"
    if isinstance(node, Near):
        return f"{_grouped(node.left)} NEAR/{node.distance} {_grouped(node.right)}"
    joiner = " AND " if isinstance(node, And) else " OR "
    return joiner.join(_grouped(child) for child in node.children)


def in_words(node: Node, inside: str | None = None) -> str:
    """Say what a query asks for in plain English, e.g. "any of nordkorea*, pjoengjang".

    A part that came whole from a named term list is written as its name: @north_korea.
    """
    source = origin(node)
    if source is not None and source != inside:
        return f"@{source}"
    if isinstance(node, Term):
        return term_text(node)
    if isinstance(node, Not):
        return f"not {_worded(node.child, inside)}"
    if isinstance(node, Near):
        left, right = _worded(node.left, inside), _worded(node.right, inside)
        return f"{left} within {node.distance} words of {right}"
    if isinstance(node, Or):
        return "any of " + ", ".join(_worded(child, inside) for child in node.children)
    return " and ".join(_worded(child, inside) for child in node.children)


def _worded(node: Node, inside: str | None) -> str:
    text = in_words(node, inside)
    return text if isinstance(node, Term | Not) or text.startswith("@") else f"({text})"


def term_text(term: Term) -> str:
    """Print one term in query syntax (folded words)."""
    words = " ".join(_word_text(word) for word in term.words)
    text = f'"{words}"' if len(term.words) > 1 else words
    field = "" if term.field == "any" else f"{term.field}:"
    weight = "" if term.weight == 1 else f"^{term.weight:g}"
    return f"{field}{text}{weight}"


def _word_text(word: Word) -> str:
    head = "*" if word.mode in ("suffix", "infix") else ""
    tail = "*" if word.mode in ("prefix", "infix") else ""
    return f"{head}{word.text}{tail}"


def _grouped(node: Node) -> str:
    return to_query(node) if isinstance(node, Term) else f"({to_query(node)})"
