"""Log lines: secrets redacted, and outside text unable to forge or hide a line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from monitor import logs
from tests.conftest import TOKEN

HOSTILE = "/status\x1b[2J\u202eevil\n12:00:00 ERROR   monitor.app: database deleted\x07"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_control_and_bidi_characters_are_escaped(fmt: str, restore_logging: None) -> None:
    out = io.StringIO()
    logs.setup("INFO", fmt, [TOKEN], stream=out)
    logging.getLogger("monitor.bot").warning("ignored %s from chat %s", HOSTILE, -42)
    try:
        raise ValueError(f"bad\u2066 value {TOKEN}\x1b[1m")
    except ValueError:
        logging.getLogger("monitor.bot").exception("failed")
    text = out.getvalue()
    assert "\x1b" not in text and "\u202e" not in text and "\u2066" not in text
    assert "\x07" not in text and TOKEN not in text
    lines = text.splitlines()
    if fmt == "json":
        lines = [json.loads(line)["message"] for line in lines]
        text = "\n".join(lines)
    assert lines[0].endswith(
        "ignored /status\\x1b[2J\\u202eevil\\n12:00:00 ERROR   monitor.app: database deleted\\x07"
        " from chat -42"
    )
    assert "ValueError: bad\\u2066 value [REDACTED]\\x1b[1m" in text
    if fmt == "console":  # the forged line is part of the first line, not a line of its own
        assert not any(line.startswith("12:00:00 ERROR") for line in lines)


def test_printable_leaves_ordinary_text_alone() -> None:
    text = "Nordkoreas Soldaten in Kursk — «Pjöngjang» 🚀 עברית"
    assert logs.printable(text) == text
    assert logs.printable("a\tb\r\nc\x85d\u2028e") == "a\\tb\\r\\nc\\x85d\\u2028e"
