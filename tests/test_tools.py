"""`monitor explain` and `monitor backtest`, end to end through the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.cli import main
from tests.conftest import (
    SHELLS_PARAGRAPHS,
    TROOPS_PARAGRAPHS,
    WEATHER_PARAGRAPHS,
    WriteConfig,
    article_page,
    rss,
)
from tests.servers import ContentServer

TROOPS = "North Korean troops in Russia"
SHELLS = "North Korean missiles and shells for Russia"


def test_explain_url_shows_text_and_each_topic(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_config([{"name": "A", "url": "https://example.org/feed"}])
    url = content.add(
        "/troops", article_page("Nordkoreas Soldaten in Kursk", TROOPS_PARAGRAPHS), "text/html"
    )

    assert main(["explain", url]) == 0

    out = capsys.readouterr().out
    assert "Title: Nordkoreas Soldaten in Kursk" in out
    assert "Text (extracted from the page," in out and "Wladiwostok" in out
    assert f"{TROOPS}: MATCH (score" in out
    assert "snippet: " in out and "[Kursk]" in out
    assert f"{SHELLS}: no match" in out
    assert "UN Security Council resolutions and sanctions: no match (score" in out
    assert ": none of (sanktion* OR sanction*" in out
    assert "Story: a new story (no database yet" in out


def test_explain_file_and_one_topic(
    env: dict[str, str],
    write_config: WriteConfig,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_config([{"name": "A", "url": "https://example.org/feed"}])
    text = tmp_path / "report.txt"
    text.write_text("Pjöngjang liefert Granaten\n" + " ".join(SHELLS_PARAGRAPHS))

    assert main(["explain", str(text), "--topic", SHELLS]) == 0

    out = capsys.readouterr().out
    assert f"{SHELLS}: MATCH" in out and TROOPS not in out


def test_explain_shows_the_story_decision_against_the_stored_window(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    page = content.add(
        "/troops", article_page("Nordkoreas Soldaten in Kursk", TROOPS_PARAGRAPHS), "text/html"
    )
    feed = content.add("/feed.xml", rss([{"title": "Nordkoreas Soldaten in Kursk", "link": page}]))
    write_config([{"name": "A", "url": feed}])
    assert main(["once"]) == 0
    capsys.readouterr()
    copy = tmp_path / "copy.txt"
    copy.write_text("Nordkoreas Soldaten in Kursk eingetroffen\n" + " ".join(TROOPS_PARAGRAPHS))

    assert main(["explain", str(copy)]) == 0

    out = capsys.readouterr().out
    assert "Story: a near-duplicate of 'Nordkoreas Soldaten in Kursk'" in out
    assert "[1 alerted articles in the window]" in out


def test_explain_refuses_private_url_by_default_and_unknown_topics(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_config([{"name": "A", "url": "https://example.org/feed"}])
    monkeypatch.delenv("MONITOR_ALLOW_PRIVATE_NETWORKS")
    assert main(["explain", content.url("/x")]) == 1
    assert "non-public address" in capsys.readouterr().err
    assert main(["explain", "/nonexistent/file.html"]) == 1
    assert "cannot be read" in capsys.readouterr().err
    assert main(["explain", "x.txt", "--topic", "Nope"]) == 2
    assert "no topic named 'Nope'" in capsys.readouterr().err


def test_backtest_compares_candidate_topics(
    env: dict[str, str],
    write_config: WriteConfig,
    content: ContentServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pages = {
        "troops": ("Nordkoreas Soldaten in Kursk", TROOPS_PARAGRAPHS),
        "shells": ("Pjöngjang liefert Granaten", SHELLS_PARAGRAPHS),
        "weather": ("Schnee im Harz", WEATHER_PARAGRAPHS),
    }
    items = [
        {
            "title": title,
            "link": content.add(f"/{key}", article_page(title, paragraphs), "text/html"),
        }
        for key, (title, paragraphs) in pages.items()
    ]
    topics = [
        {"name": TROOPS, "query": "(nordkorea* OR pjongjang) (soldat* OR truppe*)"},
        {"name": SHELLS, "query": "(nordkorea* OR pjongjang) (granate* OR artillerie*)"},
    ]
    write_config([{"name": "A", "url": content.add("/feed.xml", rss(items))}], topics=topics)
    assert main(["once"]) == 0
    capsys.readouterr()

    candidate = [topics[0], {"name": "Winter weather", "query": "schnee* OR glatteis"}]
    path = tmp_path / "candidate.yaml"
    path.write_text(yaml.safe_dump({"topics": candidate}, allow_unicode=True))

    assert main(["backtest", "--topics", str(path), "--since", "2000-01-01"]) == 0

    out = capsys.readouterr().out
    assert "backtest over 3 stored articles seen since 2000-01-01T00:00:00+00:00" in out
    rows = {
        line[:48].strip(): line[48:].split()
        for line in out.splitlines()[2:]
        if not line.startswith("    ")
    }
    assert rows[TROOPS] == ["1", "1", "+0", "-0"]
    assert rows[SHELLS] == ["1", "-", "+0", "-1"]
    assert rows["Winter weather"] == ["-", "1", "+1", "-0"]
    assert "    + Schnee im Harz" in out
    assert "    - Pjöngjang liefert Granaten" in out


def test_progress_bar_on_long_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from monitor.cli_tools import _progress_bar

    assert _progress_bar(10) is None
    show = _progress_bar(2000)
    assert show is not None
    for done in range(1, 2001):
        show(done)
    lines = capsys.readouterr().err.splitlines()
    assert lines[-1] == f"[{'#' * 30}] 2000/2000 articles"
    assert 2 <= len(lines) <= 11  # a line per 10 % when not on a terminal


def test_backtest_rejects_a_bad_candidate_file(
    env: dict[str, str],
    write_config: WriteConfig,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_config([{"name": "A", "url": "https://example.org/feed"}])
    path = tmp_path / "candidate.yaml"
    path.write_text("topics:\n  - name: X\n    query: (nordkorea\n")
    assert main(["backtest", "--topics", str(path)]) == 2
    assert (
        "candidate.yaml: topics[0].query: col 1: unbalanced parenthesis" in capsys.readouterr().err
    )
    with pytest.raises(SystemExit):
        main(["backtest", "--since", "yesterday"])
