"""chats.yaml: the Telegram chats by name, each an id or an id with its delivery rules."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Field, WithJsonSchema

from monitor.config.base import CHATS_FILE, DigestInterval, Name, Strict, parse_duration
from monitor.digest import DEFAULT_TIMEZONE, Burst, ChatRules


def _quiet_hours(value: object) -> tuple[time, time]:
    """Accept quiet hours as local "HH:MM-HH:MM"; the end may be on the next day."""
    found = (
        re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-3]):([0-5]\d)", value.strip())
        if isinstance(value, str)
        else None
    )
    if found is None:
        raise ValueError('expected local times "HH:MM-HH:MM", e.g. "22:00-07:00"')
    start = time(int(found[1]), int(found[2]))
    end = time(int(found[3]), int(found[4]))
    if start == end:
        raise ValueError("quiet hours must not start and end at the same time")
    return start, end


_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*")


def _timezone(value: object) -> str:
    """Accept an IANA time zone name such as Europe/Berlin."""
    if isinstance(value, str) and _ZONE_NAME.fullmatch(value):
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            pass
        else:
            return value
    raise ValueError("expected a time zone name such as Europe/Berlin")


QuietHours = Annotated[
    tuple[time, time],
    BeforeValidator(_quiet_hours),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^([01]?\d|2[0-3]):[0-5]\d\s*-\s*([01]?\d|2[0-3]):[0-5]\d$",
            "examples": ["22:00-07:00"],
        }
    ),
]
TimeZone = Annotated[
    str,
    BeforeValidator(_timezone),
    WithJsonSchema({"type": "string", "examples": ["Europe/Berlin", "UTC"]}),
]


def _burst_window(value: object) -> timedelta:
    """Accept a burst window such as 60s or 2m (10 seconds to 10 minutes)."""
    window = parse_duration(value) if isinstance(value, str) else None
    if window is None:
        raise ValueError("expected a window such as 60s or 2m")
    if not timedelta(seconds=10) <= window <= timedelta(minutes=10):
        raise ValueError("a burst window must be between 10s and 10m")
    return window


BurstWindow = Annotated[
    timedelta,
    BeforeValidator(_burst_window),
    WithJsonSchema({"type": "string", "pattern": r"^\d{1,4}\s*[sm]$", "examples": ["60s", "2m"]}),
]


class BurstConfig(Strict):
    """A burst: more than `threshold` alerts for the chat falling due within `window` go out
    as one grouped message."""

    threshold: int = Field(default=5, ge=1, le=1000)
    window: BurstWindow = timedelta(seconds=60)


def _burst_option(value: object) -> object:
    """`burst: off` (YAML reads a bare off as false) turns grouping off for the chat."""
    if value is False or (isinstance(value, str) and value.strip().lower() in ("off", "false")):
        return None
    return value


def _chat_id(value: object) -> int | str:
    """Accept a numeric chat id (as number or string) or an @channel name.

    Numeric ids become integers, so "-01001234567890", -1001234567890 and "-1001234567890"
    are one chat: Telegram compares numbers, and so does everything that reads the config.
    """
    text = (
        str(value).strip() if isinstance(value, int | str) and not isinstance(value, bool) else ""
    )
    if re.fullmatch(r"[+-]?\d{1,20}", text):
        return int(text)
    if not re.fullmatch(r"@[A-Za-z0-9_]{4,}", text):
        raise ValueError("expected a chat id: a number such as -1001234567890, or @channelname")
    return text


ChatId = Annotated[
    int | str,
    BeforeValidator(_chat_id),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer"},
                {"type": "string", "pattern": r"^(@[A-Za-z0-9_]{4,}|-?\d+)$"},
            ],
            "description": "a chat id such as -1001234567890, or @channelname",
        }
    ),
]


class ChatConfig(Strict):
    """One chat: its id and how it wants alerts (a digest interval, quiet hours)."""

    id: ChatId
    digest: DigestInterval | None = None
    quiet: QuietHours | None = None
    timezone: TimeZone = DEFAULT_TIMEZONE
    operator: bool = False
    burst: Annotated[
        BurstConfig | None,
        BeforeValidator(_burst_option, json_schema_input_type=BurstConfig | Literal[False, "off"]),
    ] = BurstConfig()
    feedback: bool = True

    def rules(self) -> ChatRules:
        """Return the delivery rules for this chat."""
        burst = Burst(self.burst.threshold, self.burst.window) if self.burst else None
        return ChatRules(
            digest=self.digest,
            quiet=self.quiet,
            timezone=self.timezone,
            burst=burst,
            feedback=self.feedback,
        )


def _chat_entry(value: object) -> object:
    """A chat is either just its id or a mapping with `id` and options."""
    return value if isinstance(value, dict) else {"id": _chat_id(value)}


class ChatsFile(Strict):
    """chats.yaml: Telegram chats by name, as an id or a mapping with the id and options."""

    chats: dict[
        Name,
        Annotated[
            ChatConfig, BeforeValidator(_chat_entry, json_schema_input_type=ChatId | ChatConfig)
        ],
    ]


def same_chat_twice(chats: Mapping[str, ChatConfig]) -> list[str]:
    """Refuse one chat under two names: which name (and whether operator) would be a guess."""
    first: dict[int | str, str] = {}
    problems = []
    for name, chat in chats.items():
        key = chat.id.casefold() if isinstance(chat.id, str) else chat.id
        if key == 0:  # not set yet: several chats may wait for their ids
            continue
        if key in first:
            problems.append(
                f"{CHATS_FILE}: chats.{name}: chat id {chat.id} is also chats.{first[key]}; "
                "name each chat once"
            )
        first.setdefault(key, name)
    return problems
