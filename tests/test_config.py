"""Configuration: the shipped files are valid; every kind of bad input exits 2 naming file and key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from monitor.cli import main
from monitor.config import Settings, load_config
from monitor.errors import ConfigError
from tests.conftest import REPO

GOOD_FEEDS = "feeds:\n  - name: A\n    url: https://example.org/feed.xml\n"
GOOD_TOPICS = "topics:\n  - name: T\n    query: nordkorea* russland\n"
GOOD_CHATS = "chats:\n  default: -100123\n"


def write(
    directory: Path, feeds: str = GOOD_FEEDS, topics: str = GOOD_TOPICS, chats: str = GOOD_CHATS
) -> None:
    for name, text in (("feeds.yaml", feeds), ("topics.yaml", topics), ("chats.yaml", chats)):
        if text is not None:
            (directory / name).write_text(text)


def problems(directory: Path) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_config(directory)
    return raised.value.problems


def test_shipped_config_is_valid() -> None:
    config = load_config(REPO / "config")
    names = {feed.name for feed in config.feeds}
    assert {"Auswärtiges Amt", "ZEIT ONLINE", "ORF", "SPIEGEL"} <= names
    assert len(config.topics) >= 5


def test_check_command_exit_codes(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    directory = Path(env["MONITOR_CONFIG_DIR"])
    write(directory)
    assert main(["check"]) == 0
    assert "config OK: 1 feeds, 1 topics, 1 chats" in capsys.readouterr().out

    write(
        directory, feeds="feeds:\n  - name: A\n    url: https://example.org/\n    intervall: 60\n"
    )
    assert main(["check"]) == 2
    assert capsys.readouterr().err.strip() == "feeds.yaml: feeds[0].intervall: unknown key"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"feeds": "feeds:\n  - name: A\n    url: https://e.org/\n    colour: red\n"},
            "feeds.yaml: feeds[0].colour: unknown key",
        ),
        (
            {"feeds": "feeds:\n  - name: A\n    url: https://e.org/\n    interval: soon\n"},
            "feeds.yaml: feeds[0].interval: input should be a valid integer",
        ),
        (
            {"feeds": "feeds:\n  - name: A\n    url: https://e.org/\n    interval: 5\n"},
            "feeds.yaml: feeds[0].interval: input should be greater than or equal to 30",
        ),
        (
            {"topics": "topics:\n  - name: T\n    query: nordkorea\n    exclude: fussball OR\n"},
            "topics.yaml: topics[0].exclude: col 12: expected a term after 'OR'",
        ),
        (
            {"topics": "topics:\n  - name: T\n    query: nordkorea\n    min_score: -1\n"},
            "topics.yaml: topics[0].min_score: input should be greater than or equal to 0",
        ),
        (
            {"topics": "topics:\n  - name: T\n    query: nordkorea\n    min_score: lots\n"},
            "topics.yaml: topics[0].min_score: input should be a valid number",
        ),
        (
            {"feeds": "feeds:\n  - name: A\n    url: https://e.org/\n    interval: 100000\n"},
            "feeds.yaml: feeds[0].interval: input should be less than or equal to 86400",
        ),
        (
            {"feeds": "feeds:\n  - name: A\n    url: ftp://e.org/\n"},
            "feeds.yaml: feeds[0].url: must be an http:// or https:// URL",
        ),
        (
            {"feeds": "feeds:\n  - url: https://e.org/\n"},
            "feeds.yaml: feeds[0].name: required key is missing",
        ),
        (
            {
                "feeds": "feeds:\n  - name: A\n    url: https://e.org/\n  - name: A\n    url: https://e.org/2\n"
            },
            "feeds.yaml: feeds[1].name: duplicate name 'A'",
        ),
        ({"feeds": "feeds: [\n  - name: A\n"}, "feeds.yaml: line 2, column 3: invalid YAML"),
        (
            {"feeds": "- just\n- a list\n"},
            "feeds.yaml: <document>: expected a mapping of keys to values",
        ),
        (
            {"feeds": "a: &x [1]\nb: *x\n"},
            "feeds.yaml: line 2, column 4: invalid YAML: aliases (*name) are not allowed",
        ),
        (
            {"topics": "topics:\n  - name: T\n    query: (nordkorea OR russland\n"},
            "topics.yaml: topics[0].query: col 1: unbalanced parenthesis",
        ),
        (
            {"topics": "topics:\n  - name: T\n    query: nordkorea or russland\n"},
            "topics.yaml: topics[0].query: col 11: lower-case 'or'",
        ),
        (
            {"topics": "topics:\n  - name: T\n    query: x\n    chats: [analysts]\n"},
            "topics.yaml: topics[0].chats: no chat named 'analysts' in chats.yaml",
        ),
        (
            {"chats": "chats:\n  ops: -100123\n"},
            "topics.yaml: topics[0].chats (default): no chat named 'default' in chats.yaml",
        ),
        ({"chats": "chats:\n  default: [1, 2]\n"}, "chats.yaml: chats.default: expected a chat id"),
        (
            {"chats": "chats:\n  default: group-chat\n"},
            "chats.yaml: chats.default: expected a chat id",
        ),
        (
            {"chats": "chats:\n  default:\n    id: -100\n    digest: hourly\n"},
            "chats.yaml: chats.default.digest: expected an interval such as 30m, 1h or 1d",
        ),
        (
            {"chats": "chats:\n  default:\n    id: -100\n    digest: 1m\n"},
            "chats.yaml: chats.default.digest: a digest interval must be between 5m and 7d",
        ),
        (
            {"chats": "chats:\n  default:\n    id: -100\n    quiet: 22-7\n"},
            'chats.yaml: chats.default.quiet: expected local times "HH:MM-HH:MM"',
        ),
        (
            {"chats": "chats:\n  default:\n    id: -100\n    quiet: 07:00-07:00\n"},
            "chats.yaml: chats.default.quiet: quiet hours must not start and end at the same",
        ),
        (
            {"chats": "chats:\n  default:\n    id: -100\n    timezone: Europe/Atlantis\n"},
            "chats.yaml: chats.default.timezone: expected a time zone name",
        ),
        (
            {"chats": "chats:\n  default:\n    id: -100\n    timezone: ../../etc/passwd\n"},
            "chats.yaml: chats.default.timezone: expected a time zone name",
        ),
        (
            {"chats": "chats:\n  default:\n    digest: 1h\n"},
            "chats.yaml: chats.default.id: required key is missing",
        ),
        (
            {"topics": "topics:\n  - name: T\n    query: x\n    digest: 2 weeks\n"},
            "topics.yaml: topics[0].digest: expected an interval such as 30m, 1h or 1d",
        ),
    ],
)
def test_bad_config_names_file_key_and_problem(
    tmp_path: Path, files: dict[str, str], expected: str
) -> None:
    write(tmp_path, **files)
    found = problems(tmp_path)
    assert any(problem.startswith(expected) for problem in found), found


def test_one_chat_under_two_names_is_refused_naming_both(tmp_path: Path) -> None:
    # The operator flag would depend on which name a lookup meets first.
    chats = (
        "chats:\n  default: -1001111111111\n  ops:\n    id: '-01001111111111'\n"
        "    operator: true\n  news: '@Outlet_news'\n  again: '@outlet_news'\n  x: 0\n  y: 0\n"
    )
    write(tmp_path, chats=chats)
    assert problems(tmp_path) == [
        "chats.yaml: chats.ops: chat id -1001111111111 is also chats.default; name each chat once",
        "chats.yaml: chats.again: chat id @outlet_news is also chats.news; name each chat once",
    ]


@pytest.mark.parametrize(
    "written", ["-01001111111111", "'-01001111111111'", "-1001111111111", "'+-1001111111111'"]
)
def test_chat_ids_are_numbers_however_written(tmp_path: Path, written: str) -> None:
    write(tmp_path, chats=f"chats:\n  default: {written}\n  channel: '@outlet_news'\n")
    if written.startswith("'+-"):
        assert problems(tmp_path) == [
            "chats.yaml: chats.default: expected a chat id: a number "
            "such as -1001234567890, or @channelname"
        ]
        return
    config = load_config(tmp_path)
    # a leading zero is not octal (YAML 1.1 would read -01001111111111 as another number)
    assert config.chats == {"default": "-1001111111111", "channel": "@outlet_news"}
    assert config.chat_names == {-1001111111111: "default"}


def test_missing_file_and_every_problem_reported_at_once(tmp_path: Path) -> None:
    (tmp_path / "feeds.yaml").write_text("feeds:\n  - name: A\n    url: nope\n")
    (tmp_path / "topics.yaml").write_text("topics:\n  - name: T\n    query: '\"unterminated'\n")
    found = problems(tmp_path)
    assert f"chats.yaml: <file>: not found in {tmp_path}" in found
    assert any(p.startswith("feeds.yaml: feeds[0].url:") for p in found)
    assert any(
        p.startswith("topics.yaml: topics[0].query: col 1: unterminated quote") for p in found
    )


def test_bad_config_exits_2_with_one_line_per_problem(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    directory = Path(env["MONITOR_CONFIG_DIR"])
    write(
        directory,
        feeds="feeds:\n  - name: A\n    url: https://e.org/\n    enabled: maybe\n    extra: 1\n",
    )
    assert main(["once"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert sorted(err) == [
        "feeds.yaml: feeds[0].enabled: input should be a valid boolean",
        "feeds.yaml: feeds[0].extra: unknown key",
    ]


def test_unset_chat_id_is_refused_only_with_a_token(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(Path(env["MONITOR_CONFIG_DIR"]), chats="chats:\n  default: 0\n")
    assert main(["check"]) == 0
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    assert main(["check"]) == 2
    assert "chats.yaml: chats.default: chat id is 0 (not set)" in capsys.readouterr().err


def test_bad_environment_is_reported_by_name() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(
            {
                "MONITOR_BACKLOG_HOURS": "six",
                "MONITOR_ALLOW_PRIVATE_NETWORKS": "perhaps",
                "TELEGRAM_API_URL": "localhost",
            }
        )
    assert sorted(raised.value.problems) == [
        "environment: MONITOR_ALLOW_PRIVATE_NETWORKS: expected true or false, got 'perhaps'",
        "environment: MONITOR_BACKLOG_HOURS: expected a number, got 'six'",
        "environment: TELEGRAM_API_URL: expected an http(s) URL",
    ]


def test_bad_numbers_in_new_settings_are_named() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(
            {
                "MONITOR_HOST_DELAY": "-1",
                "MONITOR_EXTRACT_TIMEOUT": "soon",
                "MONITOR_HOST_CONNECTIONS": "0",
            }
        )
    assert sorted(raised.value.problems) == [
        "environment: MONITOR_EXTRACT_TIMEOUT: expected a number, got 'soon'",
        "environment: MONITOR_HOST_CONNECTIONS: must be at least 1",
        "environment: MONITOR_HOST_DELAY: must be at least 0",
    ]


def test_bad_delivery_and_story_settings_are_named() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(
            {
                "MONITOR_TELEGRAM_PRIVATE_INTERVAL": "fast",
                "MONITOR_TELEGRAM_GROUP_INTERVAL": "-3",
                "MONITOR_DEAD_AFTER": "0",
                "MONITOR_STORY_HOURS": "0.5",
                "MONITOR_SEEN_DAYS": "forever",
            }
        )
    assert sorted(raised.value.problems) == [
        "environment: MONITOR_DEAD_AFTER: must be at least 0.0001",
        "environment: MONITOR_SEEN_DAYS: expected a number, got 'forever'",
        "environment: MONITOR_STORY_HOURS: must be at least 1",
        "environment: MONITOR_TELEGRAM_GROUP_INTERVAL: must be at least 0",
        "environment: MONITOR_TELEGRAM_PRIVATE_INTERVAL: expected a number, got 'fast'",
    ]


def test_defaults_from_empty_environment() -> None:
    settings = Settings.from_env({})
    assert settings.config_dir == Path("config")
    assert settings.database_url == "sqlite:///state/monitor.sqlite"
    assert settings.allow_private_networks is False
    assert settings.backlog_hours == 6
    assert settings.telegram_api_url == "https://api.telegram.org"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("off", None),
        ("OFF", None),
        ("127.0.0.1:9464", ("127.0.0.1", 9464)),
        (":8080", ("0.0.0.0", 8080)),
        ("[::1]:0", ("::1", 0)),
    ],
)
def test_probe_address_forms(value: str, expected: tuple[str, int] | None) -> None:
    assert Settings.from_env({"MONITOR_HTTP_LISTEN": value}).http_listen == expected


@pytest.mark.parametrize("value", ["9464", "localhost:99999", "host:port", "a b:1"])
def test_bad_probe_address_is_named(value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"MONITOR_HTTP_LISTEN": value})
    assert raised.value.problems == [
        "environment: MONITOR_HTTP_LISTEN: expected host:port (e.g. 0.0.0.0:9464) or off, "
        f"got {value!r}"
    ]


def test_bad_replica_and_bot_settings_are_named() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"MONITOR_BOT_COMMANDS": "sometimes", "MONITOR_FEED_LEASE": "soon"})
    assert sorted(raised.value.problems) == [
        "environment: MONITOR_BOT_COMMANDS: expected true or false, got 'sometimes'",
        "environment: MONITOR_FEED_LEASE: expected a number, got 'soon'",
    ]
    settings = Settings.from_env({"MONITOR_REPLICA_ID": "  "})
    assert settings.replica_id  # blank falls back to hostname-pid


@pytest.mark.parametrize(
    ("chat", "expected"),
    [
        ("{id: 1, burst: {window: 5s}}", "chats.yaml: chats.default.burst.window: "),
        ("{id: 1, burst: {window: soon}}", "chats.yaml: chats.default.burst.window: "),
        ("{id: 1, burst: {threshold: 0}}", "chats.yaml: chats.default.burst.threshold: "),
        ("{id: 1, burst: {threshold: 5, every: 2m}}", "chats.yaml: chats.default.burst.every: "),
        ("{id: 1, burst: sometimes}", "chats.yaml: chats.default.burst: "),
        ("{id: 1, feedback: maybe}", "chats.yaml: chats.default.feedback: "),
    ],
)
def test_bad_burst_and_feedback_settings_name_their_key(
    tmp_path: Path, chat: str, expected: str
) -> None:
    write(tmp_path, chats=f"chats:\n  default: {chat}\n")
    found = problems(tmp_path)
    assert any(problem.startswith(expected) for problem in found), found


def test_burst_and_feedback_settings_are_read() -> None:
    from monitor.config.chats import ChatsFile as _ChatsFile
    from monitor.digest import Burst

    chats = _ChatsFile.model_validate(
        {
            "chats": {
                "a": 1,
                "b": {"id": 2, "burst": False, "feedback": False},
                "c": {"id": 3, "burst": {"threshold": 10, "window": "2m"}},
            }
        }
    ).chats
    assert chats["a"].rules().burst == Burst() and chats["a"].rules().feedback
    assert chats["b"].rules().burst is None and not chats["b"].rules().feedback
    assert chats["c"].rules().burst == Burst(10, timedelta(minutes=2))


def test_libyaml_and_the_python_parser_read_every_config_file_alike() -> None:
    from monitor.config import yamlfile

    if yamlfile._CLoader is None:
        pytest.skip("PyYAML without libyaml: only the Python parser is used")
    config = Path(__file__).resolve().parent.parent / "config"
    samples = [path.read_bytes() for path in sorted(config.glob("*.yaml"))]
    samples.append(b"chats:\n  default: -0100123456\n  other: 0x1F\n")  # decimal, not octal
    for raw in samples:
        fast = yaml.load(raw, Loader=yamlfile._FastLoader)
        assert fast == yaml.load(raw, Loader=yamlfile._NoAliasLoader)
    assert yamlfile._load(samples[-1]) == {"chats": {"default": -100123456, "other": 31}}
