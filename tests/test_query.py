"""The query language: grammar, precedence, folding, word boundaries, error columns."""

from __future__ import annotations

import pytest

from monitor.errors import QueryError
from monitor.match import Topic, match_topics
from monitor.models import Article, Entry
from monitor.query import And, Not, Or, Term, fold, parse, terms


def matches(query: str, text: str, title: str = "") -> bool:
    article = Article(Entry("feed", None, None, title, "", None), text, True)
    return bool(match_topics(article, [Topic("t", parse(query), ("default",))]))


@pytest.mark.parametrize(
    ("word", "folded"),
    [
        ("Straße", "strasse"),
        ("München", "munchen"),
        ("Muenchen", "munchen"),
        ("PJÖNGJANG", "pjongjang"),
        ("Pjoengjang", "pjongjang"),
        ("Café", "cafe"),
    ],
)
def test_fold(word: str, folded: str) -> None:
    assert fold(word) == folded


def test_precedence_not_and_or() -> None:
    tree = parse("a b OR NOT c AND d")
    assert isinstance(tree, Or)
    left, right = tree.children
    assert isinstance(left, And) and [t.words for t in terms(left)] == [("a",), ("b",)]
    assert isinstance(right, And) and isinstance(right.children[0], Not)


def test_phrases_prefixes_and_compounds_become_terms() -> None:
    tree = parse('"Kim Jong Un" truppe* UN-Sicherheitsrat')
    assert [(t.words, t.prefix) for t in terms(tree)] == [
        (("kim", "jong", "un"), (False, False, False)),
        (("truppe",), (True,)),
        (("un", "sicherheitsrat"), (False, False)),
    ]
    assert isinstance(terms(tree)[0], Term)


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("niger", "Weniger Menschen reisen.", False),  # word boundaries
        ("niger", "Der Niger ist ein Fluss.", True),
        ("truppe*", "Die Truppenentsendung begann.", True),
        ("truppen", "Die Truppenentsendung begann.", False),
        ("nordkorea*", "Nordkoreas Führung schweigt.", True),
        ("nordkorea* truppe*", "Nordkorea-Truppen in Kursk", True),  # hyphenated compound
        ('"kim jong un"', "Machthaber Kim Jong-un reiste ab.", True),
        ('"kim jong un"', "Kim sagte, Jong Un sei ...", False),
        ("pjöngjang", "PJOENGJANG meldet", True),
        ("moskau OR moscow", "Talks in Moscow", True),
        ("moskau moscow", "Talks in Moscow", False),
        ("russland NOT iran", "Russland und Iran", False),
        ("russland NOT iran", "Russland und China", True),
        ("(a OR b) c", "b c", True),
        ("(a OR b) c", "a", False),
        ("straße", "Strasse gesperrt", True),
    ],
)
def test_matching(query: str, text: str, expected: bool) -> None:
    assert matches(query, text) is expected


def test_title_counts_for_matching() -> None:
    assert matches("nordkorea russland", "Russland meldet nichts.", title="Nordkorea schweigt")


@pytest.mark.parametrize(
    ("query", "column", "problem"),
    [
        ("", 1, "empty query"),
        ("(nordkorea OR russland", 1, "unbalanced parenthesis"),
        ("nordkorea)", 10, "unbalanced parenthesis"),
        ('nordkorea "kim jong', 11, "unterminated quote"),
        ("nordkorea OR", 13, "expected a term after 'OR'"),
        ("nordkorea AND OR russland", 15, "expected a term, found operator 'OR'"),
        ("nordkorea or russland", 11, "lower-case 'or'"),
        ("*korea", 1, "a wildcard must end a word"),
        ("nord*korea", 5, "a wildcard must end a word"),
        ("a ( ) b", 3, "empty parentheses"),
        ("a OR )", 6, "unbalanced parenthesis"),
        ("a - b", 3, "contains no word"),
    ],
)
def test_errors_name_the_column(query: str, column: int, problem: str) -> None:
    with pytest.raises(QueryError) as raised:
        parse(query)
    assert raised.value.column == column
    assert problem in raised.value.problem


def test_snippet_marks_matched_words() -> None:
    text = "Erster Satz ohne Bezug. Nordkorea schickt Soldaten nach Russland. Letzter Satz."
    article = Article(Entry("feed", None, None, "Titel", "", None), text, True)
    [found] = match_topics(article, [Topic("t", parse("nordkorea soldat* russland"), ("default",))])
    assert found.snippet == "Nordkorea schickt Soldaten nach Russland."
    marked = [found.snippet[s.start : s.end] for s in found.highlights]
    assert marked == ["Nordkorea", "Soldaten", "Russland"]
    assert found.terms == ("Nordkorea", "Soldaten", "Russland")


def test_long_sentence_snippet_is_cut_around_the_hit() -> None:
    text = ("Wort " * 200) + "Nordkorea " + ("Wort " * 200)
    article = Article(Entry("feed", None, None, "Titel", "", None), text, True)
    [found] = match_topics(article, [Topic("t", parse("nordkorea"), ("default",))])
    assert len(found.snippet) <= 360
    assert [found.snippet[s.start : s.end] for s in found.highlights] == ["Nordkorea"]
