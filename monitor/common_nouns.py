"""Which capitalised words are common nouns, not names.

The story rule (stories.py) asks whether a headline names someone or somewhere the other report
never mentions: another actor, another event. German capitalises every noun and English
headlines capitalise the words of an office's title, so a capitalised word is not yet a name.
"""

from __future__ import annotations


def common_noun(word: str) -> bool:
    """Whether a capitalised (folded) word is a common noun, not a name: a German one by its
    ending (Lieferung, Rüstungsabkommen, Massenproduktion; German capitalises every noun), or
    a word of an office's title ("Chief of General Staff", "State Duma")."""
    if word in _OFFICE_WORDS:
        return True
    if len(word) < _NOUN_LENGTH or word.endswith(_KOREAN_SYLLABLES):
        return False
    return word.endswith(_NOUN_ENDINGS) and not (word.endswith("ion") and len(word) < 7)


# Endings of German common nouns that the names of the topic's people and places (Kursk,
# Wostotschny, Hwasong) do not have; shorter words stay names ("Union"), and so do six-letter
# words in -ion (Rodion, Legion).
_NOUN_ENDINGS = (
    "ung", "ungen", "heit", "heiten", "keit", "keiten", "schaft", "ion", "ionen", "tat", "taten",
    "nis", "ismus", "fabriken",
    "abkommen", "vertrag", "vertrage", "fabrik", "gesetz", "bericht", "angriff", "einsatz",
    "manover", "ubung", "schiff", "schiffe", "drohne", "drohnen", "rakete", "raketen", "hafen",
    "flugzeug", "flugzeuge", "soldaten", "truppen",
)  # fmt: skip
_NOUN_LENGTH = 6
# Korean names end like German nouns: Hamhung, Lee Jae-myung, Hyoung.
_KOREAN_SYLLABLES = ("yung", "hung", "oung")
_OFFICE_WORDS = frozenset(
    (
        "state", "staff", "general", "chief", "fleet", "command", "ministry", "department",
        "agency", "office", "committee", "assembly", "party", "central", "national", "supreme",
        "people", "peoples", "republic", "federal", "federation", "forces", "army", "navy",
        "guard", "guards",
    )
)  # fmt: skip
