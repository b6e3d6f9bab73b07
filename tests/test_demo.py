"""`monitor demo`: the real pipeline over bundled samples, offline, alerts on the console."""

from __future__ import annotations

import re

import pytest

from monitor.cli import main
from tests.conftest import WriteConfig


def test_demo_shows_alerts_a_merged_story_and_filters_the_rest(
    env: dict[str, str],
    write_config: WriteConfig,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_config([], chats={"default": 0})  # the shipped topics; chat ids not set
    # A token and an unreachable API: the demo must use neither.
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:demo-secret-token")
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:9")
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    # one statement from two outlets: whichever arrives first is the alert, the other its source
    statement = ("Gemeinsame Erklärung der Außenministerinnen", "Außenminister kritisieren")
    assert sum(title in out for title in statement) == 1
    assert re.search(r"Also reported by (ZEIT|Auswärtiges Amt) \(demo\) \(2 sources\)", out)
    assert "NATO-Generalsekretär warnt vor Einsatz nordkoreanischer Soldaten" in out
    assert "Schneefall" not in out
    assert "demo: 5 sample reports from 3 outlets, 4 alerts for 6 topics" in out
    assert "demo-secret-token" not in out
