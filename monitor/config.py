"""Read and validate the environment and the YAML files in config/; the only module that does.

`Settings.from_env(environ)` reads deployment knobs and secrets from the environment;
`load_config(directory)` reads `feeds.yaml`, `topics.yaml` and `chats.yaml`. Both raise
`ConfigError` listing every problem as `file: path.to.key: problem`.
"""

from __future__ import annotations

import os
import re
import socket
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    field_validator,
)

from monitor.digest import DEFAULT_TIMEZONE, Burst, ChatRules
from monitor.errors import ConfigError, QueryError
from monitor.match import Topic
from monitor.query import Node, parse, references

M = TypeVar("M", bound=BaseModel)

FEEDS_FILE = "feeds.yaml"
TOPICS_FILE = "topics.yaml"
CHATS_FILE = "chats.yaml"
DEFAULT_CHAT = "default"
TELEGRAM_API_DEFAULT = "https://api.telegram.org"
MAX_CONFIG_BYTES = (
    1024 * 1024
)  # a watchlist is text written by people; anything larger is a mistake
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True, slots=True)
class EnvSetting:
    """One environment variable the service reads: its name, default and meaning."""

    name: str
    default: str
    help: str


ENV_SETTINGS = (
    EnvSetting(
        "MONITOR_CONFIG_DIR", "config", "Directory holding feeds.yaml, topics.yaml, chats.yaml."
    ),
    EnvSetting("MONITOR_STATE_DIR", "state", "Directory for the SQLite database and alerts.jsonl."),
    EnvSetting("MONITOR_DATABASE_URL", "", "SQLAlchemy URL; empty means SQLite in the state dir."),
    EnvSetting("TELEGRAM_BOT_TOKEN", "", "Bot token; empty sends alerts to the console sink."),
    EnvSetting("TELEGRAM_API_URL", TELEGRAM_API_DEFAULT, "Base URL of the Telegram Bot API."),
    EnvSetting(
        "MONITOR_ALLOW_PRIVATE_NETWORKS",
        "false",
        "Allow article links that resolve to loopback or private addresses.",
    ),
    EnvSetting(
        "MONITOR_BACKLOG_HOURS", "6", "Items older than this are recorded without alerting."
    ),
    EnvSetting("MONITOR_MAX_FEED_BYTES", str(10 * 1024 * 1024), "Size cap for a feed body."),
    EnvSetting("MONITOR_MAX_PAGE_BYTES", str(5 * 1024 * 1024), "Size cap for an article page."),
    EnvSetting("MONITOR_HTTP_TIMEOUT", "20", "Connect and read timeout for HTTP, in seconds."),
    EnvSetting(
        "MONITOR_FETCH_DEADLINE", "60", "Whole-request limit in seconds (slow-drip servers)."
    ),
    EnvSetting(
        "MONITOR_HOST_DELAY",
        "0.5",
        "Minimum seconds between requests to one host that bring a body (not 304s).",
    ),
    EnvSetting("MONITOR_HOST_CONNECTIONS", "2", "Concurrent requests allowed to one host."),
    EnvSetting(
        "MONITOR_BACKOFF_CAP", "3600", "Longest wait in seconds between polls of a failing feed."
    ),
    EnvSetting("MONITOR_EXTRACT_TIMEOUT", "30", "Seconds a page may take to extract."),
    EnvSetting(
        "MONITOR_USER_AGENT",
        "news-monitor/0.1 (+https://github.com/news-monitor/news-monitor)",
        "User-Agent sent with every request.",
    ),
    EnvSetting(
        "MONITOR_HEALTH_MAX_AGE",
        "30",
        "`monitor health` fails when the heartbeat (written every 5 s) is older, in seconds.",
    ),
    EnvSetting(
        "MONITOR_TELEGRAM_PRIVATE_INTERVAL", "1", "Seconds between messages to one private chat."
    ),
    EnvSetting(
        "MONITOR_TELEGRAM_GROUP_INTERVAL", "3", "Seconds between messages to one group or channel."
    ),
    EnvSetting(
        "MONITOR_DEAD_AFTER", "24", "Hours an alert may stay undelivered before it is kept as dead."
    ),
    EnvSetting("MONITOR_STORY_HOURS", "72", "Hours a story stays open for later reports."),
    EnvSetting("MONITOR_SEEN_DAYS", "90", "Days an entry's identity keys are remembered."),
    EnvSetting(
        "MONITOR_BOT_COMMANDS",
        "true",
        "Answer analysts' bot commands (getUpdates) when a token is set; false on all but one "
        "of several services sharing a bot.",
    ),
    EnvSetting(
        "MONITOR_FEED_LEASE",
        "120",
        "Seconds a replica's claim on a feed poll lasts (at least 3 fetch deadlines); "
        "a replica that dies mid-poll releases its feeds after this.",
    ),
    EnvSetting(
        "MONITOR_REPLICA_ID",
        "",
        "This service's name among replicas sharing a database; empty means hostname-pid.",
    ),
    EnvSetting(
        "MONITOR_HTTP_LISTEN",
        "127.0.0.1:9464",
        "host:port for /healthz and /metrics while running; port 0 picks one; off disables.",
    ),
    EnvSetting("MONITOR_LOG_FORMAT", "console", "`console` for people or `json` for machines."),
    EnvSetting("MONITOR_LOG_LEVEL", "INFO", "Log level: DEBUG, INFO, WARNING or ERROR."),
)
_ENV_DEFAULTS = {setting.name: setting.default for setting in ENV_SETTINGS}


@dataclass(frozen=True, slots=True)
class Settings:
    """Deployment settings and secrets, read from the environment once at start."""

    config_dir: Path
    state_dir: Path
    database_url: str
    telegram_token: str
    telegram_api_url: str
    allow_private_networks: bool
    backlog_hours: float
    max_feed_bytes: int
    max_page_bytes: int
    http_timeout: float
    fetch_deadline: float
    host_delay: float
    host_connections: int
    backoff_cap: float
    extract_timeout: float
    health_max_age: float
    private_interval: float
    group_interval: float
    dead_after_hours: float
    story_hours: float
    seen_days: float
    user_agent: str
    log_format: str
    log_level: str
    http_listen: tuple[str, int] | None = None  # /healthz and /metrics; None: off
    bot_commands: bool = True
    replica_id: str = "replica"
    feed_lease: float = 120.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from `environ`; raise `ConfigError` naming each bad variable."""
        problems: list[str] = []

        def get(name: str) -> str:
            return environ.get(name, _ENV_DEFAULTS[name]).strip()

        def number(name: str, kind: type[int] | type[float], minimum: float) -> Any:
            raw = get(name)
            try:
                value = kind(raw)
            except ValueError:
                problems.append(f"environment: {name}: expected a number, got {raw!r}")
                return kind(_ENV_DEFAULTS[name])
            if value < minimum:
                problems.append(f"environment: {name}: must be at least {minimum}")
            return value

        def flag(name: str) -> bool:
            raw = get(name).lower()
            if raw not in _TRUE | _FALSE:
                problems.append(f"environment: {name}: expected true or false, got {raw!r}")
            return raw in _TRUE

        allow = flag("MONITOR_ALLOW_PRIVATE_NETWORKS")
        log_format, log_level = _log_settings(
            get("MONITOR_LOG_FORMAT"), get("MONITOR_LOG_LEVEL"), problems
        )
        api_url = get("TELEGRAM_API_URL").rstrip("/")
        if not re.match(r"https?://[^/\s]+", api_url):
            problems.append("environment: TELEGRAM_API_URL: expected an http(s) URL")
        state_dir = Path(get("MONITOR_STATE_DIR"))
        listen = _listen(get("MONITOR_HTTP_LISTEN"), problems)
        settings = cls(
            config_dir=Path(get("MONITOR_CONFIG_DIR")),
            state_dir=state_dir,
            database_url=get("MONITOR_DATABASE_URL") or f"sqlite:///{state_dir / 'monitor.sqlite'}",
            telegram_token=get("TELEGRAM_BOT_TOKEN"),
            telegram_api_url=api_url,
            allow_private_networks=allow,
            backlog_hours=number("MONITOR_BACKLOG_HOURS", float, 0),
            max_feed_bytes=number("MONITOR_MAX_FEED_BYTES", int, 1024),
            max_page_bytes=number("MONITOR_MAX_PAGE_BYTES", int, 1024),
            http_timeout=number("MONITOR_HTTP_TIMEOUT", float, 0.1),
            fetch_deadline=number("MONITOR_FETCH_DEADLINE", float, 0.1),
            host_delay=number("MONITOR_HOST_DELAY", float, 0),
            host_connections=number("MONITOR_HOST_CONNECTIONS", int, 1),
            backoff_cap=number("MONITOR_BACKOFF_CAP", float, 1),
            extract_timeout=number("MONITOR_EXTRACT_TIMEOUT", float, 0.1),
            health_max_age=number("MONITOR_HEALTH_MAX_AGE", float, 10),
            private_interval=number("MONITOR_TELEGRAM_PRIVATE_INTERVAL", float, 0),
            group_interval=number("MONITOR_TELEGRAM_GROUP_INTERVAL", float, 0),
            dead_after_hours=number("MONITOR_DEAD_AFTER", float, 0.0001),
            story_hours=number("MONITOR_STORY_HOURS", float, 1),
            seen_days=number("MONITOR_SEEN_DAYS", float, 1),
            user_agent=get("MONITOR_USER_AGENT"),
            http_listen=listen,
            bot_commands=flag("MONITOR_BOT_COMMANDS"),
            feed_lease=number("MONITOR_FEED_LEASE", float, 1),
            replica_id=get("MONITOR_REPLICA_ID")[:100] or f"{socket.gethostname()}-{os.getpid()}",
            log_format=log_format,
            log_level=log_level,
        )
        if problems:
            raise ConfigError(problems)
        return settings


def _log_settings(log_format: str, log_level: str, problems: list[str]) -> tuple[str, str]:
    """Check MONITOR_LOG_FORMAT and MONITOR_LOG_LEVEL; return them normalised."""
    log_format, log_level = log_format.lower(), log_level.upper()
    if log_format not in {"console", "json"}:
        problems.append(
            f"environment: MONITOR_LOG_FORMAT: expected console or json, got {log_format!r}"
        )
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        problems.append(f"environment: MONITOR_LOG_LEVEL: unknown level {log_level!r}")
    return log_format, log_level


def _listen(value: str, problems: list[str]) -> tuple[str, int] | None:
    """Read MONITOR_HTTP_LISTEN: "host:port", ":port" (all interfaces) or "off"."""
    if value.lower() == "off":
        return None
    found = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]*):(\d{1,5})", value)
    if found is None or int(found[2]) > 65535:
        problems.append(
            "environment: MONITOR_HTTP_LISTEN: expected host:port (e.g. 0.0.0.0:9464) or off, "
            f"got {value!r}"
        )
        return None
    return found[1].strip("[]") or "0.0.0.0", int(found[2])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\s].*$")]
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_DIGEST = timedelta(minutes=5)
MAX_DIGEST = timedelta(days=7)


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


DigestInterval = Annotated[
    timedelta,
    BeforeValidator(_digest_interval),
    WithJsonSchema(
        {"type": "string", "pattern": r"^\d{1,4}\s*[mhd]$", "examples": ["30m", "1h", "1d"]}
    ),
]
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


class BurstConfig(_Strict):
    """A burst: more than `threshold` alerts for the chat falling due within `window` go out
    as one grouped message."""

    threshold: int = Field(default=5, ge=1, le=1000)
    window: BurstWindow = timedelta(seconds=60)


def _burst_option(value: object) -> object:
    """`burst: off` (YAML reads a bare off as false) turns grouping off for the chat."""
    if value is False or (isinstance(value, str) and value.strip().lower() in ("off", "false")):
        return None
    return value


class FeedConfig(_Strict):
    """One feed to poll."""

    name: Name
    url: str
    interval: int = Field(default=600, ge=30, le=86400)
    enabled: bool = True

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not re.fullmatch(r"https?://[^/\s?#]+[^\s]*", url):
            raise ValueError("must be an http:// or https:// URL")
        return url


class TopicConfig(_Strict):
    """One watch topic: a query and the chats it alerts."""

    name: Name
    query: str = Field(min_length=1)
    exclude: str | None = Field(default=None, min_length=1)
    min_score: float = Field(default=0.0, ge=0)
    chats: list[Name] | None = None
    digest: DigestInterval | None = None


class _FeedsFile(_Strict):
    """feeds.yaml: the feeds to poll."""

    feeds: list[FeedConfig]


ListName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]


class _TopicsFile(_Strict):
    """topics.yaml: named term lists, and the watch topics."""

    terms: dict[ListName, Annotated[str, Field(min_length=1)]] = Field(
        default_factory=dict,
        description="Named term lists, each a query; a query uses one as @name.",
    )
    topics: list[TopicConfig]

    def compiled_lists(self, file: str, problems: list[str]) -> dict[str, Node]:
        """Parse every term list, each after the lists it refers to; report cycles and errors."""
        done: dict[str, Node] = {}
        failed: set[str] = set()
        for name in self.terms:
            self._compile_list(name, (), done, failed, file, problems)
        return done

    def _compile_list(
        self,
        name: str,
        stack: tuple[str, ...],
        done: dict[str, Node],
        failed: set[str],
        file: str,
        problems: list[str],
    ) -> None:
        if name in done or name in failed:
            return
        text = self.terms[name]
        try:
            for ref, column in references(text):
                if ref == name or ref in stack:
                    cycle = " -> ".join(f"@{n}" for n in (*stack, name, ref))
                    raise QueryError(column, f"@{ref} refers back to itself ({cycle})")
                if ref in self.terms:
                    self._compile_list(ref, (*stack, name), done, failed, file, problems)
                if ref in failed:
                    raise QueryError(column, f"@{ref} cannot be used (see terms.{ref})")
            done[name] = parse(text, done)
        except QueryError as exc:
            failed.add(name)
            problems.append(f"{file}: terms.{name}: {exc}")


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


class ChatConfig(_Strict):
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


class _ChatsFile(_Strict):
    """chats.yaml: Telegram chats by name, as an id or a mapping with the id and options."""

    chats: dict[
        Name,
        Annotated[
            ChatConfig, BeforeValidator(_chat_entry, json_schema_input_type=ChatId | ChatConfig)
        ],
    ]


@dataclass(frozen=True, slots=True)
class Config:
    """Everything config/ says: feeds to poll, compiled topics, chat ids and rules by name.

    `chats` holds each chat's id as Telegram is addressed with it (a number written out, or
    @channelname); `chat_names` finds a chat's name by its numeric id.
    """

    feeds: tuple[FeedConfig, ...]
    topics: tuple[Topic, ...]
    chats: Mapping[str, str]
    chat_rules: Mapping[str, ChatRules] = field(default_factory=dict)
    operators: tuple[str, ...] = ()  # chats marked `operator: true`
    chat_names: Mapping[int, str] = field(default_factory=dict)


def load_config(directory: Path) -> Config:
    """Read and cross-check the three YAML files; raise `ConfigError` listing every problem."""
    problems: list[str] = []
    feeds = _load(directory, FEEDS_FILE, _FeedsFile, problems)
    topics = _load(directory, TOPICS_FILE, _TopicsFile, problems)
    chats = _load(directory, CHATS_FILE, _ChatsFile, problems)
    if feeds is not None:
        problems += _duplicates(FEEDS_FILE, "feeds", [feed.name for feed in feeds.feeds])
    if chats is not None:
        problems += _same_chat_twice(chats.chats)
    compiled: list[Topic] = []
    if topics is not None:
        problems += _duplicates(TOPICS_FILE, "topics", [topic.name for topic in topics.topics])
        known = set(chats.chats) if chats is not None else None
        lists = topics.compiled_lists(TOPICS_FILE, problems)
        for index, topic in enumerate(topics.topics):
            compiled += _compile(index, topic, known, problems, lists=lists)
    if problems or feeds is None or chats is None:
        raise ConfigError(problems)
    return Config(
        feeds=tuple(feeds.feeds),
        topics=tuple(compiled),
        chats={name: str(chat.id) for name, chat in chats.chats.items()},
        chat_rules={name: chat.rules() for name, chat in chats.chats.items()},
        operators=tuple(name for name, chat in chats.chats.items() if chat.operator),
        chat_names={
            chat.id: name for name, chat in chats.chats.items() if isinstance(chat.id, int)
        },
    )


def load_feeds(path: Path) -> tuple[FeedConfig, ...]:
    """Read one feeds file (the format of feeds.yaml); raise `ConfigError` on problems."""
    problems: list[str] = []
    feeds = _load(path.parent, path.name, _FeedsFile, problems)
    if feeds is None or problems:
        raise ConfigError(problems)
    problems += _duplicates(path.name, "feeds", [feed.name for feed in feeds.feeds])
    if problems:
        raise ConfigError(problems)
    return tuple(feeds.feeds)


def add_feeds(path: Path, new: Sequence[FeedConfig]) -> None:
    """Append feeds to the feeds file, keeping its comments; replace the file atomically.

    The entries are appended as text; when the result does not read back as the old feeds
    plus the new ones (the list is not the file's last block), the file is rewritten whole,
    keeping its leading comments.
    """
    old = load_feeds(path)
    text = path.read_text("utf-8")
    entries = [feed.model_dump(exclude_defaults=True) for feed in new]
    block = yaml.safe_dump(entries, allow_unicode=True, sort_keys=False, width=1000)
    appended = text.rstrip("\n") + "\n" + textwrap.indent(block, "  ")
    expected = (*old, *new)
    if _feeds_in(appended) != expected:
        comments = "".join(line for line in text.splitlines(True) if line.startswith("#"))
        document = {"feeds": [feed.model_dump(exclude_defaults=True) for feed in expected]}
        appended = comments + yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(appended, "utf-8")
    temporary.replace(path)


def _feeds_in(text: str) -> tuple[FeedConfig, ...] | None:
    try:
        return tuple(_FeedsFile.model_validate(yaml.load(text, Loader=_NoAliasLoader)).feeds)
    except (yaml.YAMLError, ValidationError):
        return None


SCHEMA_DRAFT = "https://json-schema.org/draft/2020-12/schema"
_FILE_MODELS: tuple[tuple[str, type[BaseModel]], ...] = (
    (FEEDS_FILE, _FeedsFile),
    (TOPICS_FILE, _TopicsFile),
    (CHATS_FILE, _ChatsFile),
)


def config_schemas() -> dict[str, dict[str, Any]]:
    """Return JSON Schema for each YAML file, by schema file name (feeds.schema.json, ...).

    Generated from the same models that validate the files, so editors check what the
    service checks (cross-file rules, such as topic chats naming known chats, excepted).
    """
    schemas = {}
    for file, model in _FILE_MODELS:
        schema = model.model_json_schema(mode="validation")
        stem = file.removesuffix(".yaml")
        schemas[f"{stem}.schema.json"] = {
            "$schema": SCHEMA_DRAFT,
            **schema,
            "title": f"news-monitor {file}",
        }
    return schemas


def config_signature(directory: Path) -> tuple[tuple[str, int, int] | None, ...]:
    """Return (name, mtime, size) of each YAML file, None for a missing one: a cheap change test."""
    signature: list[tuple[str, int, int] | None] = []
    for file in (FEEDS_FILE, TOPICS_FILE, CHATS_FILE):
        try:
            stat = (directory / file).stat()
        except OSError:
            signature.append(None)
        else:
            signature.append((file, stat.st_mtime_ns, stat.st_size))
    return tuple(signature)


def load_topics(path: Path, chat_names: Iterable[str]) -> tuple[Topic, ...]:
    """Read a candidate topics file (same format as topics.yaml) against the known chats."""
    problems: list[str] = []
    topics = _load(path.parent, path.name, _TopicsFile, problems)
    compiled: list[Topic] = []
    if topics is not None:
        problems += _duplicates(path.name, "topics", [topic.name for topic in topics.topics])
        lists = topics.compiled_lists(path.name, problems)
        for index, topic in enumerate(topics.topics):
            compiled += _compile(index, topic, set(chat_names), problems, path.name, lists)
    if problems:
        raise ConfigError(problems)
    return tuple(compiled)


def _compile(
    index: int,
    topic: TopicConfig,
    known_chats: set[str] | None,
    problems: list[str],
    file: str = TOPICS_FILE,
    lists: Mapping[str, Node] | None = None,
) -> list[Topic]:
    where = f"{file}: topics[{index}]"
    chats = topic.chats if topic.chats is not None else (DEFAULT_CHAT,)
    if known_chats is not None:
        for chat in chats:
            if chat not in known_chats:
                key = "chats" if topic.chats is not None else "chats (default)"
                problems.append(f"{where}.{key}: no chat named {chat!r} in {CHATS_FILE}")
    compiled = {}
    for key in ("query", "exclude"):
        text = getattr(topic, key)
        if text is None:
            continue
        try:
            compiled[key] = parse(text, lists)
        except QueryError as exc:
            problems.append(f"{where}.{key}: {exc}")
    if "query" not in compiled or (topic.exclude is not None and "exclude" not in compiled):
        return []
    return [
        Topic(
            topic.name,
            compiled["query"],
            tuple(chats),
            exclude=compiled.get("exclude"),
            min_score=topic.min_score,
            digest=topic.digest,
        )
    ]


def _duplicates(file: str, key: str, names: list[str]) -> list[str]:
    seen: set[str] = set()
    problems = []
    for index, name in enumerate(names):
        if name in seen:
            problems.append(f"{file}: {key}[{index}].name: duplicate name {name!r}")
        seen.add(name)
    return problems


def _same_chat_twice(chats: Mapping[str, ChatConfig]) -> list[str]:
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


def _load(directory: Path, file: str, model: type[M], problems: list[str]) -> M | None:
    path = directory / file
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        problems.append(f"{file}: <file>: not found in {directory}")
        return None
    except OSError as exc:
        problems.append(f"{file}: <file>: cannot be read ({exc.strerror})")
        return None
    if len(raw) > MAX_CONFIG_BYTES:
        problems.append(f"{file}: <file>: larger than {MAX_CONFIG_BYTES} bytes")
        return None
    try:
        data = yaml.load(raw, Loader=_NoAliasLoader)
    except yaml.YAMLError as exc:
        problems.append(f"{file}: {_yaml_where(exc)}: invalid YAML: {_yaml_problem(exc)}")
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems += [f"{file}: {_path(error['loc'])}: {_message(error)}" for error in exc.errors()]
        return None


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases, so a small file cannot expand into a huge document,
    and reads a number with a leading zero as decimal (as YAML 1.2 does), not as octal:
    `-01001234567890` is the chat -1001234567890, not some other number."""

    def construct_yaml_int(self, node: Any) -> Any:
        digits = str(node.value).replace("_", "")
        if re.fullmatch(r"[+-]?0\d+", digits):
            return int(digits)
        return super().construct_yaml_int(node)

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in config files", event.start_mark
            )
        return super().compose_node(parent, index)


_NoAliasLoader.add_constructor("tag:yaml.org,2002:int", _NoAliasLoader.construct_yaml_int)


def _yaml_where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "<document>"


def _yaml_problem(exc: yaml.YAMLError) -> str:
    return str(getattr(exc, "problem", None) or exc).strip()


def _path(loc: tuple[int | str, ...]) -> str:
    """Render a pydantic error location as `feeds[2].interval`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<document>"


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    if kind in {"model_type", "dict_type"}:
        return "expected a mapping of keys to values"
    message = str(error["msg"]).removeprefix("Value error, ")
    return message[0].lower() + message[1:] if message else str(kind)


def telegram_problems(config: Config) -> list[str]:
    """Return problems that only matter when alerts go to Telegram (unset chat ids)."""
    return [
        f"{CHATS_FILE}: chats.{name}: chat id is 0 (not set); put the chat's id here"
        for name, chat_id in config.chats.items()
        if chat_id == "0"
    ]


def yaml_text(data: object) -> str:
    """Write data as YAML the way our files read: keys in order, umlauts as they are."""
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
