"""The environment contract: every variable the service reads, declared once with its type,
default, bounds and meaning; the only module that uses pydantic-settings.

`Settings.from_env(environ)` reads and validates them and raises `ConfigError` with one
`environment: NAME: problem` line per bad variable. A value is quoted back only by the checks
written here, for settings that hold no secret: pydantic's own errors, which echo their input,
are never shown, so a token or a database password cannot reach a terminal or a log.
`ENV_SETTINGS` and `environment_table()` describe the same declarations for the README.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationError, ValidationInfo, field_validator
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict

from monitor.errors import ConfigError

ENV_PREFIX = "MONITOR_"
TELEGRAM_API_DEFAULT = "https://api.telegram.org"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_LISTEN = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]*):(\d{1,5})")


def _number(kind: Callable[[str], object]) -> Callable[[object], object]:
    """Read a number the way Python writes one ("6", "0.5", "1e3"), naming the bad text."""

    def read(value: object) -> object:
        if not isinstance(value, str):
            return value
        try:
            return kind(value)
        except ValueError:
            raise ValueError(f"expected a number, got {value!r}") from None

    return read


def _flag(value: object) -> object:
    """Read a yes/no switch: 1/true/yes/on or 0/false/no/off (empty is off)."""
    if not isinstance(value, str):
        return value
    text = value.lower()
    if text not in _TRUE | _FALSE:
        raise ValueError(f"expected true or false, got {text!r}")
    return text in _TRUE


def _listen(value: object) -> object:
    """Read a listen address: "host:port", ":port" (all interfaces) or "off" (None)."""
    if not isinstance(value, str):
        return value
    if value.lower() == "off":
        return None
    found = _LISTEN.fullmatch(value)
    if found is None or int(found[2]) > 65535:
        raise ValueError(f"expected host:port (e.g. 0.0.0.0:9464) or off, got {value!r}")
    return found[1].strip("[]") or "0.0.0.0", int(found[2])


def _log_format(value: object) -> object:
    if not isinstance(value, str):
        return value
    if value.lower() not in {"console", "json"}:
        raise ValueError(f"expected console or json, got {value.lower()!r}")
    return value.lower()


def _log_level(value: object) -> object:
    if not isinstance(value, str):
        return value
    if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError(f"unknown level {value.upper()!r}")
    return value.upper()


def _api_url(value: object) -> object:
    if not isinstance(value, str):
        return value
    if not re.match(r"https?://[^/\s]+", value.rstrip("/")):
        raise ValueError("expected an http(s) URL")
    return value.rstrip("/")


Number = Annotated[float, BeforeValidator(_number(float))]
Count = Annotated[int, BeforeValidator(_number(int))]
Flag = Annotated[bool, BeforeValidator(_flag)]
Listen = Annotated[tuple[str, int] | None, BeforeValidator(_listen)]


def _shown(text: str) -> dict[str, Any]:
    """What the README's default column says for a default that is worked out at start."""
    return {"shown_default": text}


class Settings(BaseSettings):
    """Deployment settings and secrets, read from the environment once at start.

    Each variable is `MONITOR_` and the field's name in capitals unless the field names
    another (the Telegram ones keep their `TELEGRAM_` names). Descriptions are the README's.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        frozen=True,
        enable_decoding=False,  # no value is JSON: "127.0.0.1:9464" is an address, not a list
        extra="ignore",
    )

    config_dir: Path = Field(
        Path("config"), description="Directory holding feeds.yaml, topics.yaml, chats.yaml."
    )
    state_dir: Path = Field(
        Path("state"), description="Directory for the SQLite database and alerts.jsonl."
    )
    database_url: str = Field(
        "",
        repr=False,  # may carry a password
        validate_default=True,
        description="SQLAlchemy URL of the database.",
        json_schema_extra=_shown("SQLite in the state dir"),
    )
    telegram_token: str = Field(
        "",
        repr=False,
        validation_alias="TELEGRAM_BOT_TOKEN",
        description="Bot token; unset sends alerts to the console sink.",
        json_schema_extra=_shown("unset"),
    )
    telegram_api_url: Annotated[str, BeforeValidator(_api_url)] = Field(
        TELEGRAM_API_DEFAULT,
        validation_alias="TELEGRAM_API_URL",
        description="Base URL of the Telegram Bot API (a local Bot API server, a test fake).",
    )
    allow_private_networks: Flag = Field(
        False,
        description="Allow article links that resolve to loopback, private, link-local or "
        "multicast addresses. Feed URLs written by the operator are always trusted.",
    )
    backlog_hours: Number = Field(
        6.0, ge=0, description="Items older than this are recorded without alerting."
    )
    max_feed_bytes: Count = Field(
        10 * 1024 * 1024,
        ge=1024,
        description="Size cap for a feed body (after decompression).",
    )
    max_page_bytes: Count = Field(
        5 * 1024 * 1024,
        ge=1024,
        description="Size cap for an article page (after decompression).",
    )
    http_timeout: Number = Field(
        20.0, ge=0.1, description="Connect and read timeout for HTTP, in seconds."
    )
    fetch_deadline: Number = Field(
        60.0,
        ge=0.1,
        description="Limit for a whole request in seconds, so a server that drips bytes "
        "cannot hold a poll.",
    )
    host_delay: Number = Field(
        0.5,
        ge=0,
        description="Minimum seconds between the starts of two requests to one host, counting "
        "only requests that brought a body (a conditional request answered 304 Not Modified "
        "does not make the next one wait).",
    )
    host_connections: Count = Field(
        2, ge=1, description="Requests allowed to one host at the same time."
    )
    backoff_cap: Number = Field(
        3600.0,
        ge=1,
        description="Longest wait in seconds between polls of a failing feed (the wait doubles "
        "per failure from the feed's interval).",
    )
    extract_timeout: Number = Field(
        30.0,
        ge=0.1,
        description="Seconds a page (or a feed) may take to parse or extract before it is "
        "abandoned and the worker replaced.",
    )
    user_agent: str = Field(
        "news-monitor/0.1 (+https://github.com/news-monitor/news-monitor)",
        description="User-Agent sent with every request.",
    )
    health_max_age: Number = Field(
        30.0,
        ge=10,
        description="Seconds after which `monitor health` calls the heartbeat (written every "
        "5 s) stale.",
    )
    private_interval: Number = Field(
        1.0,
        ge=0,
        validation_alias="MONITOR_TELEGRAM_PRIVATE_INTERVAL",
        description="Seconds between two messages (or edits) to one private chat.",
    )
    group_interval: Number = Field(
        3.0,
        ge=0,
        validation_alias="MONITOR_TELEGRAM_GROUP_INTERVAL",
        description="Seconds between two messages to one group or channel (Telegram allows "
        "about 20 a minute).",
    )
    dead_after_hours: Number = Field(
        24.0,
        ge=0.0001,
        validation_alias="MONITOR_DEAD_AFTER",
        description="Hours an alert may stay undelivered before it is kept as dead (listed by "
        "`monitor status`, never dropped silently).",
    )
    story_hours: Number = Field(
        72.0,
        ge=1,
        description="Hours a story stays open: later reports within it reply to it (or edit "
        "its message, within 12 hours of its first report).",
    )
    seen_days: Number = Field(
        90.0,
        ge=1,
        description="Days an entry's identity keys (canonical URL, GUID) are remembered. Items "
        "dated before the backlog window are never alerted, whatever their age.",
    )
    bot_commands: Flag = Field(
        True,
        description="Answer analysts' bot commands (`getUpdates`) when a token is set; `false` "
        "on all but one of several services sharing a bot.",
    )
    feed_lease: Number = Field(
        120.0,
        ge=1,
        description="Seconds a replica's claim on a feed poll lasts (at least 3 × "
        "`MONITOR_FETCH_DEADLINE`); a replica that dies mid-poll releases its feeds after this.",
    )
    replica_id: str = Field(
        "",
        validate_default=True,
        description="This service's name among replicas sharing a database (shown in `monitor "
        "status`). A restart on the same host (systemd, by hand, a container restarted in "
        "place) releases at start the delivery lease and feed claims of its predecessor when "
        "that process is gone, so it delivers and polls at once instead of waiting for them to "
        "expire.",
        json_schema_extra=_shown("hostname-pid"),
    )
    http_listen: Listen = Field(
        ("127.0.0.1", 9464),
        description="Where `monitor run` answers `/healthz` and `/metrics`: `host:port`, "
        "`:port` for all interfaces, port `0` for any free port, or `off`. The container "
        "listens on `0.0.0.0:9464`.",
    )
    log_format: Annotated[str, BeforeValidator(_log_format)] = Field(
        "console", description="`console` for people or `json` for machines."
    )
    log_level: Annotated[str, BeforeValidator(_log_level)] = Field(
        "INFO", description="`DEBUG`, `INFO`, `WARNING` or `ERROR`."
    )

    @field_validator("database_url")
    @classmethod
    def _sqlite_in_state_dir(cls, url: str, info: ValidationInfo) -> str:
        return url or f"sqlite:///{info.data['state_dir'] / 'monitor.sqlite'}"

    @field_validator("replica_id")
    @classmethod
    def _hostname_pid(cls, name: str) -> str:
        return name[:100] or f"{socket.gethostname()}-{os.getpid()}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read the declared variables from `environ`, names exact and values trimmed; raise
        `ConfigError` naming each bad variable."""
        declared = {name: environ[name].strip() for name in ENV_NAMES.values() if name in environ}
        try:
            return cls(_build_sources=((_Environment(cls, declared),), {}))
        except ValidationError as exc:
            # `from None`: the chained error would carry the values into a traceback
            errors = exc.errors(include_input=False, include_url=False)
            raise ConfigError([_problem(error) for error in errors]) from None


class _Environment(EnvSettingsSource):
    """pydantic-settings' environment source reading a given mapping instead of os.environ.

    `_load_env_vars` is where the library's own .env source plugs in its file, too.
    """

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # the source matches names in lower case unless told to be case-sensitive, which would
        # also make it look for MONITOR_config_dir; from_env has kept the exact names only
        return {name.lower(): value for name, value in self._environ.items()}


def _env_name(field_name: str, field: FieldInfo) -> str:
    alias = field.validation_alias
    return alias if isinstance(alias, str) else ENV_PREFIX + field_name.upper()


ENV_NAMES = {name: _env_name(name, field) for name, field in Settings.model_fields.items()}
_NAME_OF_KEY = {**ENV_NAMES, **{name: name for name in ENV_NAMES.values()}}


def _problem(error: ErrorDetails) -> str:
    """Word one pydantic error as `environment: NAME: problem`, without the value."""
    key = str(error["loc"][0]) if error["loc"] else ""
    context = error.get("ctx", {})
    if error["type"] == "value_error":
        problem = str(context["error"])
    elif error["type"] == "greater_than_equal":
        problem = f"must be at least {_as_text(context['ge'])}"
    else:
        problem = error["msg"][:1].lower() + error["msg"][1:]
    return f"environment: {_NAME_OF_KEY.get(key, key)}: {problem}"


@dataclass(frozen=True, slots=True)
class EnvSetting:
    """One environment variable as the README lists it: name, default and meaning.

    `default` is the text the variable takes when unset (empty for a value worked out at
    start); `shown` is what the README's default column says.
    """

    name: str
    default: str
    shown: str
    help: str


def _as_text(value: object) -> str:
    """Write a default the way it would be set in the environment."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, tuple):
        return ":".join(str(part) for part in value)
    return str(value)


def _setting(name: str, field: FieldInfo) -> EnvSetting:
    default = _as_text(field.default)
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    shown = str(extra.get("shown_default", f"`{default}`"))
    return EnvSetting(ENV_NAMES[name], default, shown, field.description or "")


ENV_SETTINGS = tuple(_setting(name, field) for name, field in Settings.model_fields.items())


def environment_table() -> str:
    """Return the README's table of environment variables, one row per setting."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{s.name}` | {s.shown} | {s.help} |" for s in ENV_SETTINGS]
    return "\n".join(rows) + "\n"
