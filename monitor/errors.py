"""The failures news-monitor names, in one hierarchy.

    MonitorError
     ├── ConfigError        config/ or the environment is invalid; carries every problem found
     ├── QueryError         a topic query does not parse; carries the 1-based column
     ├── FetchError         an HTTP fetch failed: status, timeout, size cap, redirects
     │    ├── GoneError     the server answered 410 Gone
     │    └── BlockedAddressError   a link resolves to a loopback/private address or is not http(s)
     ├── ParseError         bytes that should be a feed are not one
     ├── OpmlError          an OPML file to import cannot be read
     ├── StoreError         a database cannot be opened or copied into
     │    └── StoreUnavailable   the database is away, read-only or full just now
     ├── DeliveryError      an alert could not be handed to its destination
     └── OverBudget         a bounded piece of work ran out of time or steps, or was stopped

Messages are written for operators: they name the thing that failed and why, and never carry
secrets. Only `cli.py` turns them into terminal output and exit codes.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base class of every error news-monitor raises on purpose."""


class ConfigError(MonitorError):
    """Configuration is invalid; `problems` holds one `file: path.to.key: problem` line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class QueryError(MonitorError):
    """A topic query is malformed at `column` (1-based)."""

    def __init__(self, column: int, problem: str) -> None:
        self.column = column
        self.problem = problem
        super().__init__(f"col {column}: {problem}")


class FetchError(MonitorError):
    """An HTTP fetch failed; the message says how (status, timeout, cap, redirects).

    `status` is the HTTP status when there was one; `retry_after` the seconds the server asked
    us to wait (429 and 503 with Retry-After); `unreachable` that the host could not be reached
    at all (no address, connection refused or not made in time), so every feed there fails.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        unreachable: bool = False,
    ) -> None:
        self.status = status
        self.retry_after = retry_after
        self.unreachable = unreachable
        super().__init__(message)


class GoneError(FetchError):
    """The server said 410 Gone: the resource was removed for good."""


class BlockedAddressError(FetchError):
    """A link was refused: not http(s), or it resolves to a non-public address."""


class ParseError(MonitorError):
    """Bytes that should be a feed are not one."""


class DeliveryError(MonitorError):
    """An alert could not be delivered; `permanent` means retrying will not help.

    `outage`: the destination itself is away (no connection, no answer, a 5xx), not this one
    chat or message. `ambiguous`: it may have received the message before failing to answer,
    so a retry may show the alert twice.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        outage: bool = False,
        ambiguous: bool = False,
    ) -> None:
        self.permanent = permanent
        self.retry_after = retry_after  # seconds Telegram asked us to wait, if it did
        self.outage = outage
        self.ambiguous = ambiguous
        super().__init__(message)


class ChatBlocked(DeliveryError):
    """The bot was blocked by the user or removed from the chat: stop sending there."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


class ChatMoved(DeliveryError):
    """Telegram migrated the group to a supergroup with a new id; send there instead."""

    def __init__(self, message: str, new_chat_id: str) -> None:
        self.new_chat_id = new_chat_id
        super().__init__(message)


class OpmlError(MonitorError):
    """An OPML file to import is unreadable, too large, or not OPML."""


class StoreError(MonitorError):
    """A database cannot be opened, or a state copy cannot go ahead."""


class StoreUnavailable(StoreError):
    """The database refused a read or write just now (down, read-only, full, locked).

    An outage, not a bug: nothing was recorded, and the same work succeeds once the database
    answers again. `reason` is the driver's one-line explanation, without secrets.
    """

    def __init__(self, message: str, reason: str) -> None:
        self.reason = reason
        super().__init__(message)


class OverBudget(MonitorError):
    """Work ran out of its budget: `reason` is "time", "work" (steps) or "stopped"."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"over budget ({reason})")
