"""`monitor import-opml`: feeds from another reader's export, checked, deduplicated, appended."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import load_config, load_feeds
from tests.conftest import WriteConfig

EXPORT = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Miniflux export</title></head>
  <body>
    <outline text="Nachrichten">
      <outline title="tagesschau" text="tagesschau" type="rss"
               xmlUrl="https://www.tagesschau.de/xml/rss2/" htmlUrl="https://www.tagesschau.de"/>
      <outline text="ZEIT" type="rss" xmlUrl="http://www.newsfeed.zeit.de/news/index?utm_source=x"/>
      <outline text="ZEIT" type="rss" xmlUrl="https://www.zeit.de/politik/index"/>
    </outline>
    <outline text="Bad" type="rss" xmlUrl="javascript:alert(1)"/>
    <outline text="Just a link" htmlUrl="https://example.org"/>
  </body>
</opml>
"""


def write_export(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "export.opml"
    path.write_text(text, "utf-8")
    return path


def test_import_adds_new_feeds_skips_known_and_invalid_and_keeps_comments(
    env: dict[str, str],
    write_config: WriteConfig,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    directory = write_config([{"name": "ZEIT", "url": "https://newsfeed.zeit.de/news/index"}])
    feeds = directory / "feeds.yaml"
    feeds.write_text("# my feeds, with a comment\n" + feeds.read_text())
    assert main(["import-opml", str(write_export(tmp_path, EXPORT))]) == 0
    out = capsys.readouterr().out
    assert "skipped 'ZEIT' (http://www.newsfeed.zeit.de/news/index?utm_source=x): already" in out
    assert "skipped 'Bad' (javascript:alert(1)): url: must be an http:// or https:// URL" in out
    assert "4 feeds in export.opml: added 2, skipped 2" in out
    assert feeds.read_text().startswith("# my feeds, with a comment\n")
    names = [(feed.name, feed.url) for feed in load_config(directory).feeds]
    assert names == [
        ("ZEIT", "https://newsfeed.zeit.de/news/index"),
        ("tagesschau", "https://www.tagesschau.de/xml/rss2/"),
        ("ZEIT (2)", "https://www.zeit.de/politik/index"),
    ]
    assert main(["import-opml", str(write_export(tmp_path, EXPORT))]) == 0  # idempotent
    assert "added 0, skipped 4" in capsys.readouterr().out


def test_dry_run_changes_nothing_and_a_flow_style_list_is_rewritten_valid(
    env: dict[str, str], write_config: WriteConfig, tmp_path: Path
) -> None:
    directory = write_config([])
    feeds = directory / "feeds.yaml"
    feeds.write_text("# none yet\nfeeds: []\n")
    export = write_export(tmp_path, EXPORT)
    assert main(["import-opml", "--dry-run", str(export)]) == 0
    assert feeds.read_text() == "# none yet\nfeeds: []\n"
    assert main(["import-opml", "--interval", "900", str(export)]) == 0
    assert feeds.read_text().startswith("# none yet\n")
    assert {feed.interval for feed in load_feeds(feeds)} == {900}
    assert len(load_feeds(feeds)) == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaa">]><opml>&a;</opml>',
            "DOCTYPE or ENTITY declarations are not allowed",
        ),
        ("<opml><body><outline", "not well-formed XML at line 1"),
        ("<html><body>Sign in</body></html>", "not an OPML document (the root element is <html>)"),
    ],
)
def test_a_hostile_or_broken_export_is_refused_and_changes_nothing(
    env: dict[str, str],
    write_config: WriteConfig,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    message: str,
) -> None:
    directory = write_config([{"name": "ZEIT", "url": "https://newsfeed.zeit.de/news/index"}])
    before = (directory / "feeds.yaml").read_text()
    assert main(["import-opml", str(write_export(tmp_path, text))]) == 1
    assert message in capsys.readouterr().err
    assert (directory / "feeds.yaml").read_text() == before


def test_missing_export_and_bad_interval_are_clear(
    env: dict[str, str],
    write_config: WriteConfig,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_config([])
    assert main(["import-opml", str(tmp_path / "nope.opml")]) == 1
    assert "cannot read" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["import-opml", "--interval", "5", str(tmp_path / "nope.opml")])
    assert exit_.value.code == 2
    assert "not a number of seconds from 30 to 86400" in capsys.readouterr().err
