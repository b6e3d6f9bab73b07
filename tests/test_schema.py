"""JSON Schema for the YAML files: generated from the models, shipped, and agreeing with them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from monitor.cli import main
from monitor.config import config_schemas
from tests.conftest import REPO

SHIPPED = REPO / "config"


def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SHIPPED / "schema" / name).read_text("utf-8"))
    return loaded


def test_monitor_schema_writes_what_is_shipped(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "schema"
    assert main(["schema", "--out", str(out)]) == 0
    written = sorted(path.name for path in out.iterdir())
    assert written == ["chats.schema.json", "feeds.schema.json", "topics.schema.json"]
    for name in written:
        assert (out / name).read_text("utf-8") == (SHIPPED / "schema" / name).read_text("utf-8"), (
            f"config/schema/{name} is stale: run `monitor schema`"
        )


@pytest.mark.parametrize("stem", ["feeds", "topics", "chats"])
def test_shipped_files_name_their_schema_and_pass_it(stem: str) -> None:
    text = (SHIPPED / f"{stem}.yaml").read_text("utf-8")
    assert text.splitlines()[0] == f"# yaml-language-server: $schema=schema/{stem}.schema.json"
    jsonschema.validate(yaml.safe_load(text), schema(f"{stem}.schema.json"))


@pytest.mark.parametrize(
    ("stem", "document"),
    [
        ("feeds", {"feeds": [{"name": "A", "url": "https://a.example/feed", "color": "red"}]}),
        ("feeds", {"feeds": [{"name": "A", "url": "https://a.example/feed", "interval": 5}]}),
        ("topics", {"topics": [{"name": "T", "query": "x", "digest": "hourly"}]}),
        ("chats", {"chats": {"desk": {"id": -100, "quiet": "late"}}}),
        ("chats", {"chats": {"desk": "group-chat"}}),
        ("chats", {"chats": {"desk": {"digest": "1h"}}}),
    ],
)
def test_the_schema_refuses_what_the_service_refuses(stem: str, document: object) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema(f"{stem}.schema.json"))


def test_the_long_chat_form_passes_the_schema() -> None:
    chats = {
        "chats": {"default": 0, "desk": {"id": "@newsdesk", "digest": "1h", "quiet": "22:00-07:00"}}
    }
    jsonschema.validate(chats, config_schemas()["chats.schema.json"])


def test_schema_into_an_unwritable_place_is_a_clear_error(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["schema", "--out", str(blocker / "schema")]) == 1
    assert "cannot write the schema" in capsys.readouterr().err
