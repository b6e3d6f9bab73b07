"""Query text parsed into a tree (`tree.py`): tokens, then recursive descent by precedence.

Every problem is a `QueryError` naming the column where it starts; nesting and the size of a
query with its term lists expanded are bounded, so no input can exhaust the stack.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from monitor.errors import QueryError
from monitor.query.fold import fold
from monitor.query.tree import And, Field, Mode, Near, Node, Not, Or, Term, Word, size

_WORD = re.compile(r"\w+")
# Where a bare word ends; for str patterns \s is exactly what str.isspace() calls a space
_BARE_END = re.compile(r'[\s()"]')
_OPERATORS = {"AND", "OR", "NOT"}
_NEAR = re.compile(r"NEAR/(\d+)$")
_FIELDS = ("title:", "text:", "lead:")
_WEIGHT = re.compile(r"\^(\d+(?:\.\d+)?)$")
# A reference to a named term list of topics.yaml: @north_korea
LIST_NAME = re.compile(r"[a-z][a-z0-9_]*")
MAX_NEAR = 50
# Parentheses and NOTs nest at most this deep: deeper input would exhaust the parser's stack.
MAX_DEPTH = 40
# A query (with its term lists expanded): at most this deep and this many nodes. Lists that use
# lists could otherwise nest without end or double in size with every level, and a long chain
# of NEARs nests one level per NEAR; matching walks the tree recursively.
MAX_EXPANDED_DEPTH = 120
MAX_EXPANDED_NODES = 20_000
_WEIGHT_HELP = "a weight is a number after ^ (e.g. sanktion*^2)"


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "(" ")" "op" "near" "term"
    text: str
    column: int
    term: Term | None = None
    field: Field | None = None  # a field prefix written before "(" applies to the group


def parse(query: str, lists: Mapping[str, Node] | None = None) -> Node:
    """Parse a query into a tree; raise `QueryError` naming the column of the first problem.

    `@name` stands for the named term list `lists[name]` (already parsed), in parentheses.
    """
    tokens = _tokenize(query)
    if not tokens:
        raise QueryError(1, "empty query")
    parser = _Parser(tokens, len(query) + 1, lists or {})
    node = parser.parse_or()
    depth, nodes = size(node)
    if depth > MAX_EXPANDED_DEPTH or nodes > MAX_EXPANDED_NODES:
        expanded = "with its term lists expanded this" if parser.used_lists else "this query"
        raise QueryError(
            1,
            f"{expanded} is {nodes} parts {depth} levels deep "
            f"(at most {MAX_EXPANDED_NODES} parts, {MAX_EXPANDED_DEPTH} levels)",
        )
    if parser.pos < len(tokens):
        token = tokens[parser.pos]
        if token.kind == ")":
            raise QueryError(token.column, "unbalanced parenthesis: ')' without '('")
        raise QueryError(token.column, f"unexpected {token.text!r}")
    return node


def references(query: str) -> list[tuple[str, int]]:
    """Return the term lists a query refers to, with the column of each reference."""
    return [(token.text[1:], token.column) for token in _tokenize(query) if token.kind == "ref"]


def _tokenize(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(query):
        char = query[pos]
        if char.isspace():
            pos += 1
            continue
        if char in "()":
            tokens.append(_Token(char, char, pos + 1))
            pos += 1
            continue
        field, start = _field_prefix(query, pos)
        if start < len(query) and query[start] == "(" and field is not None:
            tokens.append(_Token("(", "(", start + 1, field=field))
            pos = start + 1
        elif start < len(query) and query[start] == '"':
            pos = _quoted(query, start, field or "any", tokens)
        else:
            found = _BARE_END.search(query, start)
            end = found.start() if found is not None else len(query)
            token = _bare(query[pos:end], query[start:end], start + 1, field or "any")
            tokens.append(_Token(token.kind, token.text, pos + 1, token.term, token.field))
            pos = end
    return tokens


def _field_prefix(query: str, pos: int) -> tuple[Field | None, int]:
    for prefix in _FIELDS:
        if query.startswith(prefix, pos):
            return prefix[:-1], pos + len(prefix)  # type: ignore[return-value]
    return None, pos


def _quoted(query: str, start: int, field: Field, tokens: list[_Token]) -> int:
    end = query.find('"', start + 1)
    if end < 0:
        raise QueryError(start + 1, "unterminated quote")
    weight, after = _weight(query, end + 1)
    term = _term(query[start + 1 : end], start + 2, field, weight)
    tokens.append(_Token("term", query[start:after], start + 1, term))
    return after


def _weight(query: str, pos: int) -> tuple[float, int]:
    found = re.match(r"\^(\d+(?:\.\d+)?)", query[pos:])
    if found is None:
        if query.startswith("^", pos):
            raise QueryError(pos + 1, _WEIGHT_HELP)
        return 1.0, pos
    return float(found.group(1)), pos + found.end()


def _bare(raw: str, text: str, column: int, field: Field) -> _Token:
    if text.startswith("@"):
        if not LIST_NAME.fullmatch(text[1:]):
            raise QueryError(column, f"{text!r}: a term list is @ and a name of a-z, 0-9 and _")
        return _Token("ref", text, column, field=None if field == "any" else field)
    if text in _OPERATORS and raw == text:
        return _Token("op", text, column)
    near = _NEAR.match(text)
    if near is not None and raw == text:
        distance = int(near.group(1))
        if not 1 <= distance <= MAX_NEAR:
            raise QueryError(column, f"NEAR distance must be between 1 and {MAX_NEAR}")
        return _Token("near", text, column)
    if text.startswith("NEAR"):
        raise QueryError(column, "write NEAR/n with a number of words, e.g. NEAR/5")
    if text.lower() in {"and", "or", "not"}:
        raise QueryError(
            column, f"lower-case {text!r}: write {text.upper()} for the operator, or quote the word"
        )
    weight = 1.0
    found = _WEIGHT.search(text)
    if found is not None:
        weight, text = float(found.group(1)), text[: found.start()]
    elif "^" in text:
        raise QueryError(
            column + text.index("^"), "a weight is a number after ^ (e.g. sanktion*^2)"
        )
    return _Token("term", raw, column, _term(text, column, field, weight))


def _term(text: str, column: int, field: Field, weight: float) -> Term:
    """Build a term from the text of a word or phrase starting at `column`."""
    words = []
    for found in _WORD.finditer(text):
        head = text[found.start() - 1 : found.start()] == "*"
        tail = text[found.end() : found.end() + 1] == "*"
        mode: Mode = (
            "infix" if head and tail else "suffix" if head else "prefix" if tail else "exact"
        )
        folded = fold(found.group())
        if not folded:
            raise QueryError(column + found.start(), f"{found.group()!r} folds to no letters")
        words.append(Word(folded, mode))
    for star in re.finditer(r"\*+", text):
        before = text[star.start() - 1 : star.start()]
        after = text[star.end() : star.end() + 1]
        if len(star.group()) > 1 or (not before.isalnum() and not after.isalnum()):
            raise QueryError(column + star.start(), "a wildcard must touch a word (e.g. truppe*)")
        if before.isalnum() and after.isalnum():
            raise QueryError(column + star.start(), "a wildcard must start or end a word")
    if not words:
        raise QueryError(column, f"{text!r} contains no word to search for")
    if weight <= 0:
        raise QueryError(column, "a weight must be greater than 0")
    if any(w.mode in ("suffix", "infix") and len(w.text) < 4 for w in words):
        raise QueryError(column, "a word matched inside compounds needs at least 4 letters")
    return Term(tuple(words), field, weight)


class _Parser:
    """Recursive descent.

    or := and (OR and)*;  and := near (AND? near)*;  near := not (NEAR/n not)*;
    not := NOT not | primary;  primary := term | [field:] ( or )
    """

    def __init__(self, tokens: list[_Token], end_column: int, lists: Mapping[str, Node]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.end_column = end_column
        self.lists = lists
        self.depth = 0
        self.used_lists = False

    def _deeper(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QueryError(token.column, f"nested deeper than {MAX_DEPTH} levels")

    def _peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def parse_or(self, field: Field | None = None) -> Node:
        children = [self.parse_and(field)]
        while (token := self._peek()) is not None and token.text == "OR":
            self.pos += 1
            children.append(self.parse_and(field))
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self, field: Field | None) -> Node:
        children = [self.parse_near(field)]
        while (token := self._peek()) is not None and token.text not in {"OR", ")"}:
            if token.text == "AND":
                self.pos += 1
            children.append(self.parse_near(field))
        return children[0] if len(children) == 1 else And(tuple(children))

    def parse_near(self, field: Field | None) -> Node:
        node = self.parse_not(field)
        while (token := self._peek()) is not None and token.kind == "near":
            self.pos += 1
            node = Near(node, self.parse_not(field), int(token.text.split("/")[1]))
        return node

    def parse_not(self, field: Field | None) -> Node:
        token = self._peek()
        if token is not None and token.text == "NOT" and token.kind == "op":
            self.pos += 1
            self._deeper(token)
            node = Not(self.parse_not(field))
            self.depth -= 1
            return node
        return self.parse_primary(field)

    def parse_primary(self, field: Field | None) -> Node:
        token = self._peek()
        if token is None:
            previous = self.tokens[self.pos - 1]
            raise QueryError(self.end_column, f"expected a term after {previous.text!r}")
        self.pos += 1
        if token.kind == "term" and token.term is not None:
            return _scoped(token.term, field, token.column)
        if token.kind == "ref":
            return self._list(token, token.field or field)
        if token.kind == "(":
            self._deeper(token)
            node = self.parse_or(token.field or field)
            self.depth -= 1
            closing = self._peek()
            if closing is None or closing.kind != ")":
                raise QueryError(token.column, "unbalanced parenthesis: '(' is never closed")
            self.pos += 1
            return node
        if token.kind == ")":
            if self.pos >= 2 and self.tokens[self.pos - 2].kind == "(":
                raise QueryError(self.tokens[self.pos - 2].column, "empty parentheses")
            raise QueryError(token.column, "unbalanced parenthesis: ')' without '('")
        raise QueryError(token.column, f"expected a term, found operator {token.text!r}")

    def _list(self, token: _Token, field: Field | None) -> Node:
        self.used_lists = True
        name = token.text[1:]
        node = self.lists.get(name)
        if node is None:
            known = ", ".join(f"@{n}" for n in sorted(self.lists)) or "none"
            raise QueryError(token.column, f"no term list named {token.text} (defined: {known})")
        return _from_list(node, name, field, token.column)


def _from_list(node: Node, name: str, field: Field | None, column: int) -> Node:
    """Copy a term list's tree into a query: scoped to the enclosing field, terms marked."""
    if isinstance(node, Term):  # the list named here, also for words of a list inside it
        return _scoped(_copy(node, node.field, name), field, column)
    if isinstance(node, Not):
        return Not(_from_list(node.child, name, field, column))
    if isinstance(node, Near):
        left = _from_list(node.left, name, field, column)
        return Near(left, _from_list(node.right, name, field, column), node.distance)
    children = tuple(_from_list(child, name, field, column) for child in node.children)
    return And(children) if isinstance(node, And) else Or(children)


def _scoped(term: Term, field: Field | None, column: int) -> Term:
    """Apply the field of an enclosing `title:(...)` group to a term inside it."""
    if field is None or field == term.field:
        return term
    if term.field != "any":
        raise QueryError(column, f"{term.field}: inside a {field}: group")
    return _copy(term, field, term.origin)


def _copy(term: Term, field: Field, origin: str | None) -> Term:
    """The term with another field or origin. Not `dataclasses.replace`: term lists are
    copied into every query that uses them, some 10,000 terms for the shipped topics, and
    `replace` took a third of loading them."""
    return Term(term.words, field, term.weight, origin)
