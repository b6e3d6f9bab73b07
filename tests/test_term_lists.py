"""Named term lists in topics.yaml: defined once, used as @name, refused with their column."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import pytest
import yaml

from monitor.app import App
from monitor.config import Settings, load_config, load_topics
from monitor.errors import ConfigError
from monitor.explain import describe
from monitor.match import Matcher
from monitor.models import Article, Entry
from monitor.query import in_words
from tests.conftest import REPO, WriteConfig, rss
from tests.servers import ContentServer

TERMS = {
    "north_korea": "nordkorea* OR pjongjang* OR @leader",
    "leader": '"kim jong un*"',
    "russia": "russland* OR moskau*",
}
TOPICS = [
    {"name": "Troops", "query": "@north_korea @russia (soldat* NEAR/8 @north_korea)"},
    {"name": "Shells", "query": "@north_korea @russia granat*"},
]


def article(title: str, text: str) -> Article:
    return Article(Entry("test", None, None, title, "", None), text, True)


def write_topics(directory: Path, terms: dict[str, str], topics: list[dict[str, str]]) -> Path:
    path = directory / "topics.yaml"
    path.write_text(yaml.safe_dump({"terms": terms, "topics": topics}, allow_unicode=True))
    return path


def test_lists_resolve_in_every_topic_and_say_where_a_word_came_from(tmp_path: Path) -> None:
    topics = load_topics(write_topics(tmp_path, TERMS, TOPICS), ["default"])
    matcher = Matcher(topics)
    text = "Kim Jong Un schickt Soldaten nach Russland; Moskau zahlt mit Granaten."
    found = {m.topic for m in matcher.match(article("Lage", text))}
    assert found == {"Troops", "Shells"}
    assert in_words(topics[0].query) == (
        "@north_korea and @russia and (soldat* within 8 words of @north_korea)"
    )
    (verdict,) = matcher.explain(article("Lage", text), ["Shells"])
    lines = "\n".join(describe(verdict))
    # a word of a list inside a list is named by the list the query used
    assert '"kim jong un*" (@north_korea)' in lines and "russland* (@russia)" in lines
    assert "Granaten" in lines and "granat* (@" not in lines  # not from a list


@pytest.mark.parametrize(
    ("terms", "query", "problem"),
    [
        (TERMS, "@north_korea @nope", "topics[0].query: col 14: no term list named @nope"),
        (
            {**TERMS, "a": "x OR @b", "b": "y OR @a"},
            "@north_korea",
            "terms.b: col 6: @a refers back to itself (@a -> @b -> @a)",
        ),
        ({**TERMS, "self": "x OR @self"}, "@self", "terms.self: col 6: @self refers back"),
        ({**TERMS, "broken": "(x OR y"}, "@broken", "terms.broken: col 1: unbalanced parenthesis"),
        (TERMS, "@North", "topics[0].query: col 1: '@North': a term list is @ and a name"),
    ],
)
def test_unknown_cyclic_and_broken_lists_are_refused_with_their_column(
    tmp_path: Path, terms: dict[str, str], query: str, problem: str
) -> None:
    path = write_topics(tmp_path, terms, [{"name": "T", "query": query}])
    with pytest.raises(ConfigError) as refused:
        load_topics(path, ["default"])
    assert any(p.startswith("topics.yaml: ") and problem in p for p in refused.value.problems), (
        refused.value.problems
    )


def test_a_bad_list_name_is_refused_by_the_schema(tmp_path: Path) -> None:
    path = write_topics(tmp_path, {"North Korea": "x"}, [{"name": "T", "query": "x"}])
    with pytest.raises(ConfigError) as refused:
        load_topics(path, ["default"])
    assert any("terms.North Korea" in p for p in refused.value.problems)


def test_a_changed_list_reloads_every_topic_that_uses_it(
    env: dict[str, str], write_config: WriteConfig, content: ContentServer
) -> None:
    content.add("/feed.xml", rss([]))
    directory = write_config(
        [{"name": "A", "url": content.url("/feed.xml")}], topics=TOPICS, terms=TERMS
    )
    settings = Settings.from_env(os.environ)
    text = "Soldaten aus Wonsan in Russland, Granaten aus Wonsan für Moskau."

    async def scenario() -> tuple[set[str], set[str]]:
        async with App(settings, load_config(directory)) as app:
            before = {m.topic for m in app.deps.matcher.match(article("x", text))}
            write_topics(directory, {**TERMS, "north_korea": "nordkorea* OR wonsan"}, TOPICS)
            applied, _ = await app.reload("test", notify=False)
            assert applied
            after = {m.topic for m in app.deps.matcher.match(article("x", text))}
            return before, after

    before, after = asyncio.run(scenario())
    assert before == set() and after == {"Troops", "Shells"}


def test_the_shipped_topics_define_each_alias_list_once() -> None:
    shipped = yaml.safe_load((REPO / "config" / "topics.yaml").read_text(encoding="utf-8"))
    queries = " ".join(
        f"{topic['query']} {topic.get('exclude', '')}" for topic in shipped["topics"]
    )
    aliases = ("nordkorea*", "pjongjang*", "russland*", "moskau*", "kreml*", "sanktion*", "kims")
    for alias in (*aliases, "kyiv", "vladivostok", "rason", "putin*", "lavrov"):
        assert alias not in queries, f"{alias} belongs in a term list, not in a topic"
        defining = [name for name, text in shipped["terms"].items() if alias in text.split()]
        assert len(defining) == 1, f"{alias} is in {defining}"
    everything = " ".join([queries, *shipped["terms"].values()])
    assert set(re.findall(r"@([a-z_]+)", everything)) == set(shipped["terms"]), "an unused list"
    load_topics(REPO / "config" / "topics.yaml", ["default"])


def test_lists_that_nest_or_double_without_end_are_refused_quickly(tmp_path: Path) -> None:
    deep = {"l0": "a", **{f"l{i}": "NOT " * 38 + f"@l{i - 1}" for i in range(1, 31)}}
    doubling = {"d0": "a OR b", **{f"d{i}": f"@d{i - 1} @d{i - 1}" for i in range(1, 23)}}
    for terms, last in ((deep, "l30"), (doubling, "d22")):
        path = write_topics(tmp_path, terms, [{"name": "T", "query": f"@{last}"}])
        with pytest.raises(ConfigError) as refused:
            load_topics(path, ["default"])
        assert any("with its term lists expanded this is" in p for p in refused.value.problems)
