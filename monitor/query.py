"""The topic query language: fold words, parse queries into trees, report errors by column.

A query is made of
    words            truppen          matches the word "Truppen", "truppen", ...
    prefix words     truppe*          matches any word starting with "truppe"
    phrases          "kim jong un"    consecutive words; `*` may end any word inside
    compounds        UN-Sicherheitsrat  a phrase of its parts, so "UN Sicherheitsrat" matches too
    AND, OR, NOT     (upper case)     NOT binds tightest, then AND, then OR
    parentheses      (a OR b) c       adjacent terms are joined by an implicit AND

Matching is at word boundaries on folded text: case, umlauts (ä = ae = a), ß = ss and other
diacritics are folded the same way in queries and in articles, so `niger` never matches
"weniger" and `Pjöngjang` matches "Pjoengjang".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from monitor.errors import QueryError

_WORD = re.compile(r"\w+")
_OPERATORS = {"AND", "OR", "NOT"}
# Umlauts written as digraphs fold to the same base letter as the umlaut itself.
_DIGRAPHS = (("ae", "a"), ("oe", "o"), ("ue", "u"))


def fold(word: str) -> str:
    """Fold one word for matching: case, ß, diacritics and umlaut digraphs."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    for digraph, letter in _DIGRAPHS:
        plain = plain.replace(digraph, letter)
    return plain


@dataclass(frozen=True, slots=True)
class Term:
    """A word or a phrase: folded words, each exact or a prefix."""

    words: tuple[str, ...]
    prefix: tuple[bool, ...]
    source: str


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


Node = Term | And | Or | Not


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "(" ")" "op" "term"
    text: str
    column: int
    term: Term | None = None


def parse(query: str) -> Node:
    """Parse a query into a tree; raise `QueryError` naming the column of the first problem."""
    tokens = _tokenize(query)
    if not tokens:
        raise QueryError(1, "empty query")
    parser = _Parser(tokens, len(query) + 1)
    node = parser.parse_or()
    if parser.pos < len(tokens):
        token = tokens[parser.pos]
        if token.kind == ")":
            raise QueryError(token.column, "unbalanced parenthesis: ')' without '('")
        raise QueryError(token.column, f"unexpected {token.text!r}")
    return node


def terms(node: Node) -> list[Term]:
    """Return every term in the tree, in reading order."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return terms(node.child)
    return [term for child in node.children for term in terms(child)]


def _tokenize(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(query):
        char = query[pos]
        if char.isspace():
            pos += 1
        elif char in "()":
            tokens.append(_Token(char, char, pos + 1))
            pos += 1
        elif char == '"':
            end = query.find('"', pos + 1)
            if end < 0:
                raise QueryError(pos + 1, "unterminated quote")
            text = query[pos : end + 1]
            tokens.append(_Token("term", text, pos + 1, _term(query[pos + 1 : end], pos + 2)))
            pos = end + 1
        else:
            end = pos
            while end < len(query) and not query[end].isspace() and query[end] not in '()"':
                end += 1
            tokens.append(_bare(query[pos:end], pos + 1))
            pos = end
    return tokens


def _bare(text: str, column: int) -> _Token:
    if text in _OPERATORS:
        return _Token("op", text, column)
    if text.lower() in {"and", "or", "not"}:
        raise QueryError(
            column, f"lower-case {text!r}: write {text.upper()} for the operator, or quote the word"
        )
    return _Token("term", text, column, _term(text, column))


def _term(text: str, column: int) -> Term:
    """Build a term from the text of a word or phrase starting at `column`."""
    words: list[str] = []
    prefix: list[bool] = []
    for found in _WORD.finditer(text):
        star = text[found.end() : found.end() + 1] == "*"
        words.append(fold(found.group()))
        prefix.append(star)
    for wildcard in re.finditer(r"\*", text):
        before = text[wildcard.start() - 1 : wildcard.start()]
        after = text[wildcard.end() : wildcard.end() + 1]
        if not before.isalnum() or after.isalnum():
            raise QueryError(column + wildcard.start(), "a wildcard must end a word (e.g. truppe*)")
    if not words:
        raise QueryError(column, f"{text!r} contains no word to search for")
    return Term(tuple(words), tuple(prefix), text)


class _Parser:
    """Recursive descent over tokens: or := and (OR and)*; and := not (AND? not)*."""

    def __init__(self, tokens: list[_Token], end_column: int) -> None:
        self.tokens = tokens
        self.pos = 0
        self.end_column = end_column

    def _peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while (token := self._peek()) is not None and token.text == "OR":
            self.pos += 1
            children.append(self.parse_and())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self) -> Node:
        children = [self.parse_not()]
        while (token := self._peek()) is not None and token.text not in {"OR", ")"}:
            if token.text == "AND":
                self.pos += 1
            children.append(self.parse_not())
        return children[0] if len(children) == 1 else And(tuple(children))

    def parse_not(self) -> Node:
        token = self._peek()
        if token is not None and token.text == "NOT":
            self.pos += 1
            return Not(self.parse_not())
        return self.parse_primary()

    def parse_primary(self) -> Node:
        token = self._peek()
        if token is None:
            previous = self.tokens[self.pos - 1]
            raise QueryError(self.end_column, f"expected a term after {previous.text!r}")
        self.pos += 1
        if token.kind == "term" and token.term is not None:
            return token.term
        if token.kind == "(":
            node = self.parse_or()
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
