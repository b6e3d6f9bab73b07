"""The topic query language: fold words, parse queries into trees, print them back.

    word            truppen           the word, folded (see below)
    prefix          truppe*           any word starting with "truppe"
    compound tail   *krise            any word ending in "krise" (Nordkoreakrise)
    inside a word   *raketen*         anywhere inside a word (Kurzstreckenraketentest)
    phrase          "kim jong un"     consecutive words; wildcards allowed on each word
    compound        UN-Sicherheitsrat a phrase of its parts; also matches "UNSicherheitsrat"
    field           title:nordkorea   only in the title (title:), only in the body (text:), or
                                      in the title or the lead: the body's first 40 words (lead:)
    weight          sanktion*^2       counts 2 towards the topic's score (default 1)
    proximity       a NEAR/5 b        a and b within 5 words of each other, either order
    boolean         AND OR NOT ( )    NOT binds tightest, then NEAR, then AND, then OR;
                                      adjacent terms are joined by an implicit AND

Matching happens at word boundaries on folded text: case, umlauts (ä = ae = a), ß = ss and
other diacritics fold alike in queries and articles, so `niger` never matches "weniger".

The language's surface, in one place: `parse.py` reads query text into a tree (`tree.py`),
`text.py` prints a tree back, `fold.py` folds words alike in queries and articles.
"""

from monitor.query.fold import fold, fold_letters, merge_digraphs
from monitor.query.parse import (
    LIST_NAME,
    MAX_DEPTH,
    MAX_EXPANDED_DEPTH,
    MAX_EXPANDED_NODES,
    MAX_NEAR,
    parse,
    references,
)
from monitor.query.text import in_words, term_text, to_query
from monitor.query.tree import (
    And,
    Field,
    Mode,
    Near,
    Node,
    Not,
    Or,
    Term,
    Word,
    lists_in,
    origin,
    size,
    terms,
)

__all__ = [
    "LIST_NAME",
    "MAX_DEPTH",
    "MAX_EXPANDED_DEPTH",
    "MAX_EXPANDED_NODES",
    "MAX_NEAR",
    "And",
    "Field",
    "Mode",
    "Near",
    "Node",
    "Not",
    "Or",
    "Term",
    "Word",
    "fold",
    "fold_letters",
    "in_words",
    "lists_in",
    "merge_digraphs",
    "origin",
    "parse",
    "references",
    "size",
    "term_text",
    "terms",
    "to_query",
]
