"""Reload on its own: a valid edit is applied and summarised, a broken one keeps the config."""

from __future__ import annotations

import io
import os
from pathlib import Path

from monitor.config import Config, Settings, load_config
from monitor.deliver import ConsoleSink
from monitor.metrics import Metrics
from monitor.reload import Reloader
from tests.conftest import WriteConfig

FEED = {"name": "A", "url": "https://example.org/a.xml"}
TOPICS = [{"name": "North Korea", "query": "Nordkorea*"}]


class Holder:
    """What the reloader works on: the config in force, switched by `apply`."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.applied: list[Config] = []

    def apply(self, config: Config) -> list[str]:
        self.config = config
        self.applied.append(config)
        return ["feeds added: B"]


async def test_an_edit_is_applied_and_a_broken_one_refused(
    env: dict[str, str], write_config: WriteConfig, tmp_path: Path
) -> None:
    directory = write_config(
        [FEED], topics=TOPICS, chats={"default": 1, "ops": {"id": 2, "operator": True}}
    )
    settings = Settings.from_env(os.environ)
    holder = Holder(load_config(directory))
    notices = io.StringIO()
    sink = ConsoleSink(tmp_path / "alerts.jsonl", notices)
    reloader = Reloader(settings, lambda: holder.config, holder.apply, sink, Metrics())
    reloader.remember_files()

    await reloader.watch()
    assert holder.applied == []  # nothing changed

    write_config(
        [FEED, {**FEED, "name": "B"}],
        topics=[*TOPICS, {"name": "Snow", "query": "Schnee"}],
        chats={"default": 1, "ops": {"id": 2, "operator": True}},
    )
    await reloader.watch()
    assert [feed.name for feed in holder.config.feeds] == ["A", "B"]
    assert (
        "Configuration reloaded: feeds added: B; topics added: Snow; 2 feeds, 2 topics."
        in notices.getvalue()
    )

    (directory / "topics.yaml").write_text("topics:\n  - name: Broken\n    query: '\"open'\n")
    applied, problems = await reloader.reload("test")
    assert not applied and problems.startswith("topics.yaml: topics[0].query:")
    assert len(holder.applied) == 1 and [t.name for t in holder.config.topics] == [
        "North Korea",
        "Snow",
    ]
    assert (
        "Configuration change refused; the last good configuration stays in force"
        in notices.getvalue()
    )
