"""Count what the service does, for Prometheus; the only module that uses prometheus_client.

One `Metrics` per running service, each with its own registry, so tests and tools can run
several side by side. `render()` gives the exposition text for `/metrics`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from monitor.errors import StoreUnavailable

_SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_LATENCY = (0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600)


class Metrics:
    """The service's counters, histograms and gauges."""

    def __init__(self, outbox: Callable[[], Mapping[str, int]] | None = None) -> None:
        """`outbox` counts alerts by status; it is read when the metrics are scraped."""
        self._outbox_counts = outbox
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter(
            "monitor_feed_polls",
            "Feed polls by feed and outcome (ok, error).",
            ["feed", "outcome"],
            registry=r,
        )
        self.items = Counter(
            "monitor_feed_items",
            "New feed items by feed (older backlog items excluded).",
            ["feed"],
            registry=r,
        )
        self.articles = Counter(
            "monitor_articles",
            "Articles by where their text came from (page, summary).",
            ["source"],
            registry=r,
        )
        self.extraction = Histogram(
            "monitor_extraction_seconds",
            "Time to extract one article page.",
            buckets=_SECONDS,
            registry=r,
        )
        self.matches = Counter(
            "monitor_topic_matches", "Articles matched, by topic.", ["topic"], registry=r
        )
        self.queued = Counter(
            "monitor_alerts_queued", "Alerts put in the outbox, by chat.", ["chat"], registry=r
        )
        self.sent = Counter(
            "monitor_alerts_sent",
            "Alerts delivered, by chat and how (message, digest).",
            ["chat", "via"],
            registry=r,
        )
        self.latency = Histogram(
            "monitor_delivery_latency_seconds",
            "From an alert entering the outbox to its message being sent (not held alerts).",
            buckets=_LATENCY,
            registry=r,
        )
        self.outbox = Gauge(
            "monitor_outbox_alerts", "Alerts in the outbox by status.", ["status"], registry=r
        )
        self.reloads = Counter(
            "monitor_config_reloads",
            "Configuration reloads by outcome (ok, failed).",
            ["outcome"],
            registry=r,
        )
        self.heartbeat = Gauge(
            "monitor_heartbeat_timestamp_seconds",
            "Unix time of the service's last heartbeat.",
            registry=r,
        )
        self.grades = Counter(
            "monitor_alert_grades",
            "Grades analysts gave alerts with the buttons under them, by topic and label.",
            ["topic", "label"],
            registry=r,
        )
        self.ambiguous = Counter(
            "monitor_ambiguous_sends",
            "Sends Telegram never answered (it may have the message); each is retried, so the "
            "alert may show twice.",
            ["chat"],
            registry=r,
        )
        self.ignored = Counter(
            "monitor_bot_ignored_messages",
            "Messages the bot did not answer, by reason (unknown chat, for another bot, not a "
            "new message, busy).",
            ["reason"],
            registry=r,
        )
        for outcome in ("ok", "failed"):
            self.reloads.labels(outcome)  # present from the start, so a rate() sees the first one

    def polled(self, feed: str, ok: bool, new: int) -> None:
        """Count one poll of `feed` and its new items."""
        self.polls.labels(feed, "ok" if ok else "error").inc()
        if new:
            self.items.labels(feed).inc(new)

    def queued_alerts(self, per_chat: Mapping[str, int]) -> None:
        """Count alerts put in the outbox, per chat."""
        for chat, count in per_chat.items():
            self.queued.labels(chat).inc(count)

    def article(self, from_page: bool, seconds: float | None) -> None:
        """Count one article and, when its page was extracted, how long that took."""
        self.articles.labels("page" if from_page else "summary").inc()
        if seconds is not None:
            self.extraction.observe(seconds)

    def matched(self, topic: str) -> None:
        """Count one article matching `topic`."""
        self.matches.labels(topic).inc()

    def delivered(self, chat: str, via: str, count: int, latency: float | None) -> None:
        """Count alerts delivered to `chat`; `latency` in seconds for a message sent at once."""
        self.sent.labels(chat, via).inc(count)
        if latency is not None:
            self.latency.observe(max(latency, 0.0))

    def graded(self, topics: Sequence[str], label: str) -> None:
        """Count one grade (relevant, irrelevant) for each topic of the alerts graded."""
        for topic in topics:
            self.grades.labels(topic, label).inc()

    def ambiguous_send(self, chat: str) -> None:
        """Count a send to `chat` whose outcome is unknown (it will be retried)."""
        self.ambiguous.labels(chat).inc()

    def bot_ignored(self, reason: str) -> None:
        """Count a message the bot did not answer, and why."""
        self.ignored.labels(reason).inc()

    def outbox_is(self, counts: Mapping[str, int]) -> None:
        """Set the outbox gauge from alert counts by status."""
        for status in ("pending", "sent", "dead"):
            self.outbox.labels(status).set(counts.get(status, 0))

    def reloaded(self, ok: bool) -> None:
        """Count a configuration reload (or a failed attempt)."""
        self.reloads.labels("ok" if ok else "failed").inc()

    def beat(self, timestamp: float) -> None:
        """Record the heartbeat time."""
        self.heartbeat.set(timestamp)

    def render(self) -> tuple[bytes, str]:
        """Return the exposition text and its content type (the outbox counted now)."""
        if self._outbox_counts is not None:
            with contextlib.suppress(StoreUnavailable):  # the gauge keeps its last value
                self.outbox_is(self._outbox_counts())
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
