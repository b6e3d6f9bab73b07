"""What the three YAML files' models share: the strict base model, names, durations, the
files' names."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

FEEDS_FILE = "feeds.yaml"
TOPICS_FILE = "topics.yaml"
CHATS_FILE = "chats.yaml"
DEFAULT_CHAT = "default"
MIN_DIGEST = timedelta(minutes=5)
MAX_DIGEST = timedelta(days=7)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class Strict(BaseModel):
    """A file's model: unknown keys are refused, values are not coerced, results are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\s].*$")]


def parse_duration(text: str) -> timedelta | None:
    """Read a duration written as seconds, minutes, hours or days ("90s", "30m", "2h", "1d");
    None if not one."""
    found = re.fullmatch(r"(\d{1,4})\s*([smhd])", text.strip().lower())
    return timedelta(seconds=int(found[1]) * _UNITS[found[2]]) if found else None


def _digest_interval(value: object) -> timedelta:
    """Accept a digest interval such as 30m, 1h or 1d (5 minutes to 7 days)."""
    interval = parse_duration(value) if isinstance(value, str) else None
    if interval is None:
        raise ValueError("expected an interval such as 30m, 1h or 1d")
    if not MIN_DIGEST <= interval <= MAX_DIGEST:
        raise ValueError("a digest interval must be between 5m and 7d")
    return interval


DigestInterval = Annotated[
    timedelta,
    BeforeValidator(_digest_interval),
    WithJsonSchema(
        {"type": "string", "pattern": r"^\d{1,4}\s*[mhd]$", "examples": ["30m", "1h", "1d"]}
    ),
]
