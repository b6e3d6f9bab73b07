"""Load config/: read the three YAML files, cross-check them and build one `Config`; add
feeds to feeds.yaml; describe the files as JSON Schema."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from monitor.config.base import CHATS_FILE, FEEDS_FILE, TOPICS_FILE
from monitor.config.chats import ChatsFile, same_chat_twice
from monitor.config.feeds import FeedConfig, FeedsFile
from monitor.config.topics import TopicsFile, compile_topic
from monitor.config.yamlfile import parse_model, read_model, yaml_text
from monitor.digest import ChatRules
from monitor.errors import ConfigError
from monitor.match import Topic

SCHEMA_DRAFT = "https://json-schema.org/draft/2020-12/schema"
_FILE_MODELS: tuple[tuple[str, type[BaseModel]], ...] = (
    (FEEDS_FILE, FeedsFile),
    (TOPICS_FILE, TopicsFile),
    (CHATS_FILE, ChatsFile),
)


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
    feeds = read_model(directory, FEEDS_FILE, FeedsFile, problems)
    topics = read_model(directory, TOPICS_FILE, TopicsFile, problems)
    chats = read_model(directory, CHATS_FILE, ChatsFile, problems)
    if feeds is not None:
        problems += _duplicates(FEEDS_FILE, "feeds", [feed.name for feed in feeds.feeds])
    if chats is not None:
        problems += same_chat_twice(chats.chats)
    compiled: list[Topic] = []
    if topics is not None:
        problems += _duplicates(TOPICS_FILE, "topics", [topic.name for topic in topics.topics])
        known = set(chats.chats) if chats is not None else None
        lists = topics.compiled_lists(TOPICS_FILE, problems)
        for index, topic in enumerate(topics.topics):
            compiled += compile_topic(index, topic, known, problems, lists=lists)
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
    feeds = read_model(path.parent, path.name, FeedsFile, problems)
    if feeds is None or problems:
        raise ConfigError(problems)
    problems += _duplicates(path.name, "feeds", [feed.name for feed in feeds.feeds])
    if problems:
        raise ConfigError(problems)
    return tuple(feeds.feeds)


def load_topics(path: Path, chat_names: Iterable[str]) -> tuple[Topic, ...]:
    """Read a candidate topics file (same format as topics.yaml) against the known chats."""
    problems: list[str] = []
    topics = read_model(path.parent, path.name, TopicsFile, problems)
    compiled: list[Topic] = []
    if topics is not None:
        problems += _duplicates(path.name, "topics", [topic.name for topic in topics.topics])
        lists = topics.compiled_lists(path.name, problems)
        for index, topic in enumerate(topics.topics):
            compiled += compile_topic(index, topic, set(chat_names), problems, path.name, lists)
    if problems:
        raise ConfigError(problems)
    return tuple(compiled)


def add_feeds(path: Path, new: Sequence[FeedConfig]) -> None:
    """Append feeds to the feeds file, keeping its comments; replace the file atomically.

    The entries are appended as text; when the result does not read back as the old feeds
    plus the new ones (the list is not the file's last block), the file is rewritten whole,
    keeping its leading comments.
    """
    old = load_feeds(path)
    text = path.read_text("utf-8")
    entries = [feed.model_dump(exclude_defaults=True) for feed in new]
    appended = text.rstrip("\n") + "\n" + textwrap.indent(yaml_text(entries, width=1000), "  ")
    expected = (*old, *new)
    if _feeds_in(appended) != expected:
        comments = "".join(line for line in text.splitlines(True) if line.startswith("#"))
        document = {"feeds": [feed.model_dump(exclude_defaults=True) for feed in expected]}
        appended = comments + yaml_text(document, width=80)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(appended, "utf-8")
    temporary.replace(path)


def _feeds_in(text: str) -> tuple[FeedConfig, ...] | None:
    feeds = parse_model(text, FeedsFile)
    return tuple(feeds.feeds) if feeds is not None else None


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


def telegram_problems(config: Config) -> list[str]:
    """Return problems that only matter when alerts go to Telegram (unset chat ids)."""
    return [
        f"{CHATS_FILE}: chats.{name}: chat id is 0 (not set); put the chat's id here"
        for name, chat_id in config.chats.items()
        if chat_id == "0"
    ]


def _duplicates(file: str, key: str, names: list[str]) -> list[str]:
    seen: set[str] = set()
    problems = []
    for index, name in enumerate(names):
        if name in seen:
            problems.append(f"{file}: {key}[{index}].name: duplicate name {name!r}")
        seen.add(name)
    return problems
