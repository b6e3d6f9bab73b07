"""The README documents every setting, command and YAML key, and CI runs its test command."""

from __future__ import annotations

import re

import pytest

from monitor.cli import build_parser
from monitor.commands import USAGE
from monitor.config import ENV_SETTINGS, ChatConfig, FeedConfig, TopicConfig
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", [setting.name for setting in ENV_SETTINGS])
def test_every_environment_variable_is_documented(name: str) -> None:
    assert f"| `{name}` |" in README


def test_every_command_is_documented() -> None:
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for command in commands:
        assert re.search(rf"\| `monitor {command}[ `]", README), command


@pytest.mark.parametrize(
    "key",
    [f"feeds[].{field}" for field in FeedConfig.model_fields]
    + [f"topics[].{field}" for field in TopicConfig.model_fields]
    + [f"chats.<name>.{field}" for field in ChatConfig.model_fields],
)
def test_every_yaml_key_is_documented(key: str) -> None:
    assert f"`{key}`" in README


def test_ci_runs_the_readme_test_command() -> None:
    first_block = README.split("```sh\n", 1)[1].split("```", 1)[0]
    assert first_block.splitlines()[:2] == [
        line for line in first_block.splitlines() if line.startswith(("make run", "make test"))
    ]
    assert "make test" in first_block
    ci = (REPO / ".ci" / "run").read_text()
    assert ci.strip().splitlines()[-2:] == ["make test", "make image-test"]


@pytest.mark.parametrize("command", sorted(USAGE))
def test_every_bot_command_is_documented(command: str) -> None:
    assert re.search(rf"\| `/{command}[ `]", README), command
