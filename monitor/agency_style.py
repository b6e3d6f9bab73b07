"""A headline or lead as a reader takes it, not as an agency writes it: the states'
abbreviations written out ("N. Korea", "S. Korean", "U.S.", "UK") and an update's tag dropped
("(LEAD)", "(2ND LD)", "(Zusammenfassung)"): a tag says a report was retold, not what happened.
"""

from __future__ import annotations

import re

# Agency style, written out: "S. Korea summons Russian envoy", "N. Korean troops", "U.S.
# sanctions", "UK". Only in capitals: "uk" is a syllable of a Korean name, "us" a word.
_ABBREVIATED = re.compile(r"\b([NS])\.\s*(?=Korea)|\bU\.?([SK])\.?(?:A\.?)?(?![\w.$])")
_WRITTEN_OUT = {"N": "North ", "S": "South ", "US": "USA", "UK": "Britain"}
# An update's tag, at either end of a headline: Yonhap's "(LEAD)", "(2ND LD)", "(URGENT)",
# dpa's "(Zusammenfassung)", "(Roundup)". A correction's tag ("KORREKTUR") is kept: it tells.
_TAG = r"\((?:LEAD|\d*(?:ST|ND|RD|TH) LD|URGENT|UPDATE \d*|Zusammenfassung|Roundup|ROUNDUP)\)"
_TAGS = re.compile(rf"^\s*{_TAG}\s*|\s*{_TAG}\s*$")


def written_out(text: str) -> str:
    """The text with the agencies' abbreviations of the states written out."""
    return _ABBREVIATED.sub(_write_out, text)


def untagged(title: str) -> str:
    """The headline without an update's tag."""
    return _TAGS.sub("", title)


def _write_out(found: re.Match[str]) -> str:
    return _WRITTEN_OUT[found.group(1) or f"U{found.group(2)}"]
