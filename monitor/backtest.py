"""Run topics over stored articles and compare a candidate set of topics with the current one."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from monitor.match import Matcher
from monitor.models import Article

EXAMPLES_PER_TOPIC = 10


@dataclass(slots=True)
class TopicResult:
    """How one topic fares over the stored articles, now and with the candidate topics."""

    topic: str
    current: int | None  # None: the topic does not exist in that set
    candidate: int | None
    added: list[Article] = field(default_factory=list)
    removed: list[Article] = field(default_factory=list)
    added_count: int = 0
    removed_count: int = 0


@dataclass(slots=True)
class Report:
    """The outcome of a backtest."""

    articles: int
    topics: list[TopicResult]


def backtest(
    articles: Iterable[Article],
    current: Matcher,
    candidate: Matcher | None = None,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Match every article with both topic sets and count, per topic, what would change."""
    current_names = [t.name for t in current.topics]
    candidate_names = [t.name for t in candidate.topics] if candidate else current_names
    results = {
        name: TopicResult(
            name,
            0 if name in current_names else None,
            0 if name in candidate_names else None,
        )
        for name in dict.fromkeys([*current_names, *candidate_names])
    }
    seen = 0
    for article in articles:
        now = {m.topic for m in current.match(article)}
        then = {m.topic for m in candidate.match(article)} if candidate else now
        for name in now:
            _bump(results[name], "current")
        for name in then:
            _bump(results[name], "candidate")
        for name in then - now:
            _example(results[name], article, added=True)
        for name in now - then:
            _example(results[name], article, added=False)
        seen += 1
        if progress is not None:
            progress(seen)
    return Report(seen, list(results.values()))


def _bump(result: TopicResult, side: str) -> None:
    setattr(result, side, (getattr(result, side) or 0) + 1)


def _example(result: TopicResult, article: Article, *, added: bool) -> None:
    if added:
        result.added_count += 1
        if len(result.added) < EXAMPLES_PER_TOPIC:
            result.added.append(article)
    else:
        result.removed_count += 1
        if len(result.removed) < EXAMPLES_PER_TOPIC:
            result.removed.append(article)


@dataclass(slots=True)
class GradedScore:
    """How a set of topics decides on the articles analysts graded: would it alert?

    A graded article is a positive when its latest grade was "relevant". The topics "alert"
    on it when any of them matches.
    """

    graded: int = 0
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    lost: list[Article] = field(default_factory=list)  # graded relevant, no longer alerted
    still_sent: list[Article] = field(default_factory=list)  # graded not relevant, alerted

    @property
    def precision(self) -> float | None:
        alerted = self.true_positives + self.false_positives
        return self.true_positives / alerted if alerted else None

    @property
    def recall(self) -> float | None:
        relevant = self.true_positives + self.false_negatives
        return self.true_positives / relevant if relevant else None


def against_grades(graded: Iterable[tuple[Article, str]], topics: Matcher) -> GradedScore:
    """Score `topics` on graded articles (article, label): precision, recall, and examples."""
    score = GradedScore()
    for article, label in graded:
        score.graded += 1
        alerted = bool(topics.match(article))
        relevant = label == "relevant"
        if alerted and relevant:
            score.true_positives += 1
        elif alerted:
            score.false_positives += 1
            if len(score.still_sent) < EXAMPLES_PER_TOPIC:
                score.still_sent.append(article)
        elif relevant:
            score.false_negatives += 1
            if len(score.lost) < EXAMPLES_PER_TOPIC:
                score.lost.append(article)
    return score
