"""The environment contract: exact names, the Telegram names, values trimmed, secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import ENV_SETTINGS, Settings
from monitor.errors import ConfigError

TOKEN = "123456:very-secret-token"
DATABASE = "postgresql+psycopg://monitor:hunter2-password@db:5432/monitor"


def test_telegram_names_and_trimmed_values_are_read() -> None:
    settings = Settings.from_env(
        {
            "TELEGRAM_BOT_TOKEN": f"  {TOKEN}\n",
            "TELEGRAM_API_URL": "http://127.0.0.1:8081/",
            "MONITOR_TELEGRAM_GROUP_INTERVAL": " 0 ",
            "MONITOR_DEAD_AFTER": "2",
            "MONITOR_BOT_COMMANDS": "OFF",
            "MONITOR_LOG_FORMAT": "JSON",
            "MONITOR_LOG_LEVEL": "debug",
        }
    )
    assert settings.telegram_token == TOKEN
    assert settings.telegram_api_url == "http://127.0.0.1:8081"
    assert settings.group_interval == 0
    assert settings.dead_after_hours == 2
    assert settings.bot_commands is False
    assert (settings.log_format, settings.log_level) == ("json", "DEBUG")


def test_only_the_declared_names_spelled_exactly_are_read() -> None:
    settings = Settings.from_env(
        {
            "monitor_backlog_hours": "1",
            "MONITOR_TELEGRAM_TOKEN": TOKEN,
            "MONITOR_GROUP_INTERVAL": "9",
            "BACKLOG_HOURS": "2",
        }
    )
    assert settings.backlog_hours == 6
    assert settings.telegram_token == ""
    assert settings.group_interval == 3


def test_the_state_dir_places_the_default_database() -> None:
    assert Settings.from_env({"MONITOR_STATE_DIR": "/srv/state"}).database_url == (
        "sqlite:////srv/state/monitor.sqlite"
    )
    assert Settings.from_env({"MONITOR_DATABASE_URL": DATABASE}).database_url == DATABASE


def test_secrets_appear_in_no_problem_and_no_repr() -> None:
    environ = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "MONITOR_DATABASE_URL": DATABASE,
        "MONITOR_HTTP_TIMEOUT": "soon",
        "MONITOR_HTTP_LISTEN": "nowhere",
    }
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(environ)
    shown = "\n".join(raised.value.problems) + str(raised.value) + repr(raised.value)
    assert len(raised.value.problems) == 2
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    settings = Settings.from_env(
        {**environ, "MONITOR_HTTP_TIMEOUT": "5", "MONITOR_HTTP_LISTEN": "off"}
    )
    shown += repr(settings) + str(settings)
    assert "very-secret" not in shown and "hunter2" not in shown


def test_a_bad_variable_exits_2_naming_it(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("MONITOR_MAX_PAGE_BYTES", "5 MB")
    monkeypatch.setenv("MONITOR_FEED_LEASE", "0")
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert sorted(err.splitlines()) == [
        "environment: MONITOR_FEED_LEASE: must be at least 1",
        "environment: MONITOR_MAX_PAGE_BYTES: expected a number, got '5 MB'",
    ]


def test_the_table_lists_each_setting_with_its_default_as_the_environment_writes_it() -> None:
    table = {setting.name: setting for setting in ENV_SETTINGS}
    assert len(table) == len(Settings.model_fields)
    assert table["MONITOR_HTTP_LISTEN"].default == "127.0.0.1:9464"
    assert table["MONITOR_BACKLOG_HOURS"].default == "6"
    assert table["MONITOR_HOST_DELAY"].default == "0.5"
    assert table["MONITOR_BOT_COMMANDS"].default == "true"
    assert table["TELEGRAM_BOT_TOKEN"].shown == "unset"
    defaults = Settings.from_env({s.name: s.default for s in ENV_SETTINGS})
    assert defaults == Settings.from_env({}).model_copy(update={"replica_id": defaults.replica_id})


def test_the_config_dir_is_a_path(tmp_path: Path) -> None:
    assert Settings.from_env({"MONITOR_CONFIG_DIR": str(tmp_path)}).config_dir == tmp_path
