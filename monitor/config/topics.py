"""topics.yaml: named term lists and the watch topics, compiled into matcher topics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import Field

from monitor.config.base import CHATS_FILE, DEFAULT_CHAT, TOPICS_FILE, DigestInterval, Name, Strict
from monitor.errors import QueryError
from monitor.match import Topic
from monitor.query import Node, parse, references


class TopicConfig(Strict):
    """One watch topic: a query and the chats it alerts."""

    name: Name
    query: str = Field(min_length=1)
    exclude: str | None = Field(default=None, min_length=1)
    min_score: float = Field(default=0.0, ge=0)
    chats: list[Name] | None = None
    digest: DigestInterval | None = None


ListName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]


class TopicsFile(Strict):
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


def compile_topic(
    index: int,
    topic: TopicConfig,
    known_chats: set[str] | None,
    problems: list[str],
    file: str = TOPICS_FILE,
    lists: Mapping[str, Node] | None = None,
) -> list[Topic]:
    """Compile one topic's queries against the term lists and check its chats are known
    (None: not checked); return it as a matcher topic, or nothing when it has problems."""
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
