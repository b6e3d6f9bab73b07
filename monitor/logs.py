"""Logging setup: console lines for people or JSON lines for machines, secrets redacted, and
text from outside (commands, feed titles, server answers) unable to forge or hide a line."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO

# Bot API URLs carry the token as /bot<id>:<secret>/; PTB and httpx put them in messages.
_TOKEN_PATTERN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")
REDACTED = "[REDACTED]"
# C0 and C1 controls (line breaks and terminal escapes among them), DEL, and the Unicode marks
# that break a line or reorder what a terminal shows (bidi embeddings, overrides, isolates).
_UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """Return `text` with control and bidi characters written as escapes (\\x1b, \\u202e)."""
    return _UNPRINTABLE.sub(lambda found: _escape(found.group()), text)


def _escape(char: str) -> str:
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


class RedactSecrets(logging.Filter):
    """Replace known secrets, and anything shaped like a bot token, in every record; escape
    control and bidi characters, so every record is one line that shows what it says."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [secret for secret in secrets if secret]

    def redact(self, text: str) -> str:
        """Return `text` with every secret replaced."""
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return _TOKEN_PATTERN.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = printable(self.redact(record.getMessage()))
        if record.exc_info:
            trace = self.redact(logging.Formatter().formatException(record.exc_info))
            message += "\n" + "\n".join(printable(line) for line in trace.split("\n"))
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = message, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                    timespec="milliseconds"
                ),
                "level": record.levelname.lower(),
                "logger": record.name,
                "message": record.getMessage(),
            },
            ensure_ascii=False,
        )


def setup(level: str, fmt: str, secrets: Iterable[str], stream: TextIO | None = None) -> None:
    """Route all logging to one handler on stderr with the chosen format and redaction."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RedactSecrets(secrets))
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    for chatty in ("httpx", "httpcore", "apscheduler", "telegram", "trafilatura", "htmldate"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
