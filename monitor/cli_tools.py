"""The analysts' tools of the `monitor` command (explain, backtest, labels): each reads the
stored articles or one article, and prints its report. Part of the command line, as cli.py is:
cli.py checks the arguments and turns outcomes into exit codes."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.config import Config, Settings, load_topics, yaml_text
from monitor.store import Store

# The pipeline's modules are imported when a tool runs: `monitor health` (the container's
# HEALTHCHECK) imports cli.py, and with it this module, every 15 s.
if TYPE_CHECKING:
    from monitor.match import Matcher
    from monitor.models import Article

EXPLAIN_TEXT_CHARS = 1500
PROGRESS_MIN_ARTICLES = 500


def explain(
    settings: Settings, config: Config, source: str, names: list[str] | None, *, full: bool
) -> None:
    """Show an article's text, each topic's verdict with its reason, and its story decision.

    `names` are known topic names (cli.py checks them), or None for every topic.
    """
    # Imported here: explaining needs trafilatura, which no other command loads at start.
    from monitor.explain import article_from_file, describe
    from monitor.match import Matcher

    if source.startswith(("http://", "https://")):
        article = asyncio.run(_fetch_article(settings, source))
    else:
        article = article_from_file(Path(source))
    text = article.text
    origin = "extracted from the page" if article.from_page else "no main text found: title only"
    print(f"Title: {article.entry.title or '(none)'}\nSource: {source}")
    print(f"Text ({origin}, {len(text)} characters):")
    shown = text if full or len(text) <= EXPLAIN_TEXT_CHARS else text[:EXPLAIN_TEXT_CHARS] + " …"
    print(textwrap.indent(shown or "(empty)", "  "))
    print("\nTopics:")
    for verdict in Matcher(config.topics).explain(article, names):
        print("\n".join(describe(verdict)))
    print(f"\nStory: {_story_decision(settings, article)}")


def _story_decision(settings: Settings, article: Article) -> str:
    """What the story rule would make of the article against the stored window."""
    from monitor.stories import place
    from monitor.story_loading import story_index

    url = settings.database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return "a new story (no database yet: the service has not run with this state)"
    store = Store.open(url)
    try:
        now = datetime.now(UTC)
        stories = story_index(store, timedelta(hours=settings.story_hours), now)
    finally:
        store.close()
    placed = place(stories, "explain", article.entry.title, article.text, now)
    return (
        f"{placed.describe(stories.titles())} [{len(stories) - 1} alerted articles in the window]"
    )


async def _fetch_article(settings: Settings, url: str) -> Article:
    from monitor.explain import article_from_url
    from monitor.fetch import make_client

    async with make_client(settings.user_agent, settings.http_timeout) as client:
        return await article_from_url(
            url,
            client,
            max_bytes=settings.max_page_bytes,
            guard=not settings.allow_private_networks,
        )


def backtest(
    settings: Settings, config: Config, since: datetime | None, candidate: Path | None
) -> None:
    """Match the stored articles with the current topics (and `candidate` ones), and score
    both against the analysts' grades."""
    from monitor.backtest import backtest as run_backtest
    from monitor.match import Matcher

    candidate_topics = load_topics(candidate, config.chats) if candidate is not None else None
    store = Store.open(settings.database_url)
    try:
        total = store.articles.count(since)
        progress = _progress_bar(total)
        report = run_backtest(
            store.articles.all(since),
            Matcher(config.topics),
            Matcher(candidate_topics) if candidate_topics is not None else None,
            progress,
        )
        graded = [(article, label) for _, article, _, label in store.grades.articles()]
    finally:
        store.close()
    scope = f" seen since {since.isoformat()}" if since else ""
    print(f"backtest over {report.articles} stored articles{scope}")
    print(f"{'topic':<48} {'current':>8} {'candidate':>10} {'added':>6} {'removed':>8}")
    for result in report.topics:
        print(
            f"{result.topic[:48]:<48} {_count(result.current):>8} {_count(result.candidate):>10} "
            f"{'+' + str(result.added_count):>6} {'-' + str(result.removed_count):>8}"
        )
        for article in result.added:
            print(f"    + {article.entry.title}  {article.entry.link or ''}")
        for article in result.removed:
            print(f"    - {article.entry.title}  {article.entry.link or ''}")
    _print_graded(graded, Matcher(config.topics), "current")
    if candidate_topics is not None:
        _print_graded(graded, Matcher(candidate_topics), "candidate")


def _print_graded(graded: list[tuple[Article, str]], topics: Matcher, which: str) -> None:
    """Say how a set of topics scores against the analysts' grades."""
    from monitor.backtest import against_grades

    if not graded:
        print(f"{which} topics: no graded alerts yet (the buttons under alerts)")
        return
    score = against_grades(graded, topics)
    precision = "-" if score.precision is None else f"{score.precision:.3f}"
    recall = "-" if score.recall is None else f"{score.recall:.3f}"
    print(
        f"{which} topics against {score.graded} graded articles: precision {precision}, "
        f"recall {recall} ({score.false_negatives} graded relevant not alerted, "
        f"{score.false_positives} graded not relevant still alerted)"
    )
    for article in score.lost:
        print(f"    lost (graded relevant): {article.entry.title}  {article.entry.link or ''}")
    for article in score.still_sent:
        print(f"    still sent (graded not relevant): {article.entry.title}")


def export_labels(settings: Settings, out: Path | None) -> None:
    """Write the graded articles as a bench/quality set: labels are the topics a relevant
    article alerted for; an article graded not relevant has none."""
    store = Store.open(settings.database_url)
    try:
        graded = store.grades.articles()
    finally:
        store.close()
    cases = [
        {
            "id": f"g{entry_id}",
            "labels": list(topics) if label == "relevant" else [],
            "kind": "graded",
            "title": article.entry.title,
            "text": article.text,
        }
        for entry_id, article, topics, label in graded
    ]
    text = yaml_text(cases)
    if out is None:
        print(text, end="")
    else:
        out.write_text(text, encoding="utf-8")
        print(f"wrote {len(cases)} graded articles to {out}")


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


def _progress_bar(total: int) -> Callable[[int], None] | None:
    """Draw progress on stderr for runs long enough to wait for."""
    if total < PROGRESS_MIN_ARTICLES:
        return None
    step = max(1, total // 100)
    interactive = sys.stderr.isatty()

    def show(done: int) -> None:
        if done % step and done != total:
            return
        filled = done * 30 // total
        bar = f"[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} articles"
        if interactive:
            print(f"\r{bar}", end="\n" if done == total else "", file=sys.stderr, flush=True)
        elif done % (step * 10) == 0 or done == total:
            print(bar, file=sys.stderr, flush=True)

    return show
