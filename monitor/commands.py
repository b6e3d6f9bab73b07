"""Answer the bot's commands from the database and the current configuration.

`Desk.answer(chat, command, args, ...)` returns the replies as Telegram HTML, each within
Telegram's length limit. Arguments are hostile: anything unexpected gets a usage line. Who may
ask what (known chats, operator chats) is decided here too; bot.py only carries messages.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from monitor.config import Config, parse_duration
from monitor.errors import QueryError
from monitor.explain import describe
from monitor.match import Matcher
from monitor.models import Alert
from monitor.query import Node, in_words, lists_in, parse
from monitor.render import BERLIN, clip, grouped_items, linked
from monitor.replies import fit, paginate
from monitor.search import SEARCH_SECONDS, Scan, find
from monitor.status import chat_status, status_report
from monitor.store import MessageAlert, Store

audit = logging.getLogger("monitor.audit")

SEARCH_DAYS = 7
SEARCH_RESULTS = 5
# Searches running at once, service-wide (each one CPU-bound in a thread); one per chat.
SEARCHES_AT_ONCE = 2
RECENT_DEFAULT = 5
RECENT_MAX = 20
MAX_MUTE = timedelta(days=30)
MAX_ARG_CHARS = 300

USAGE = {
    "help": "/help: this list",
    "topics": "/topics: the watch topics, what each looks for, and its chats",
    "recent": "/recent [topic] [n]: the last n alerts in this chat (default 5, at most 20)",
    "why": "/why: send it as a reply to an alert: the words that matched, the score, the snippet "
    "(to a grouped message: /why 3 for its third report)",
    "mute": "/mute &lt;topic&gt; &lt;duration&gt;: no alerts for a topic here for a while, "
    "e.g. /mute troops 2h (30m, 2h, 1d; at most 30d)",
    "unmute": "/unmute [topic]: lift a mute (all mutes here without a topic)",
    "status": "/status: feeds healthy and failing, alerts waiting, the last alert",
    "search": "/search &lt;words&gt;: stored articles of the last 7 days with all the words "
    "(the topic query language works too)",
    "feeds": "/feeds: every feed with its condition (operators' chat only)",
    "reload": "/reload: read config/ again now (operators' chat only)",
}
OPERATOR_ONLY = frozenset({"feeds", "reload"})
AUDITED = frozenset({"mute", "unmute", "reload"})  # the commands that change what happens
COMMAND_DESCRIPTIONS = {
    "help": "What the bot can do",
    "topics": "The watch topics",
    "recent": "The last alerts here",
    "why": "Reply to an alert: why it matched",
    "mute": "Mute a topic here for a while",
    "unmute": "Lift a mute",
    "status": "Feeds and alerts at a glance",
    "search": "Search the last 7 days",
}


@dataclass(frozen=True, slots=True)
class Request:
    """One command as received: where from, who, what, with which words, replying to which
    message."""

    chat: str  # the chat's name in chats.yaml
    command: str
    args: tuple[str, ...]
    reply_to: str | None = None
    operator: bool = False
    user: str = ""  # who asked, for people and the audit: "@name (user id)"


class Desk:
    """The bot's answers. `config` returns the configuration in force (it changes on reload)."""

    def __init__(
        self,
        store: Store,
        config: Callable[[], Config],
        reload: Callable[[str], Awaitable[tuple[bool, str]]] | None = None,
        search_seconds: float = SEARCH_SECONDS,
    ) -> None:
        self.store = store
        self.config = config
        self.reload = reload
        self.search_seconds = search_seconds
        self._stopping = threading.Event()  # read by work running in threads
        self._search_slots = asyncio.Semaphore(SEARCHES_AT_ONCE)
        self._searching: set[str] = set()  # chats with a search running

    def stop(self) -> None:
        """Make work under way (a search) end at its next step; the service is stopping."""
        self._stopping.set()

    async def answer(self, request: Request, now: datetime | None = None) -> list[str]:
        """Return the replies to one command (Telegram HTML), or a usage line.

        A command that changes state (/mute, /unmute, /reload) leaves an audit line: chat,
        user, command and result, whether it succeeded, was refused or failed.
        """
        if request.command not in AUDITED:
            return await self._answer(request, now or datetime.now(UTC))
        try:
            replies = await self._answer(request, now or datetime.now(UTC))
        except asyncio.CancelledError:
            _audit(request, "not finished: it took too long, or the service is stopping")
            raise
        except Exception as exc:
            _audit(request, f"failed: {type(exc).__name__}: {exc}")
            raise
        _audit(request, replies[0] if replies else "no reply")
        return replies

    async def _answer(self, request: Request, now: datetime) -> list[str]:
        if request.command not in USAGE or request.command == "help":
            return [self._help(request.operator)]
        if request.command in OPERATOR_ONLY and not request.operator:
            return ["This command is for the operators' chat only."]
        if any(len(arg) > MAX_ARG_CHARS for arg in request.args):
            return [f"Too long. Usage: {USAGE[request.command]}"]
        handler = getattr(self, f"_{request.command}")
        replies: list[str] = await handler(request, now)
        return [fit(reply) for reply in replies]

    def _help(self, operator: bool) -> str:
        shown = [usage for name, usage in USAGE.items() if operator or name not in OPERATOR_ONLY]
        return "<b>news-monitor</b>\n" + "\n".join(shown)

    async def _topics(self, request: Request, now: datetime) -> list[str]:
        topics = self.config().topics
        if not topics:
            return ["No topics are configured."]
        blocks = []
        for topic in topics:
            wants = clip(in_words(topic.query), 600)
            block = f"<b>{html.escape(topic.name)}</b>\n{html.escape(wants)}"
            if topic.exclude is not None:
                block += f"\nbut not {html.escape(clip(in_words(topic.exclude), 200))}"
            chats = ", ".join(topic.chats)
            block += f"\n<i>chats: {html.escape(chats)}</i>"
            if topic.digest is not None:
                block += f"<i>; digest every {_duration_text(topic.digest)}</i>"
            blocks.append(block)
        used: dict[str, Node] = {}
        for topic in topics:
            lists_in(topic.query, used)
        for name, node in sorted(used.items()):
            words = clip(in_words(node, inside=name), 600)
            blocks.append(f"<b>@{html.escape(name)}</b> (term list)\n{html.escape(words)}")
        return paginate(blocks)

    async def _recent(self, request: Request, now: datetime) -> list[str]:
        args = list(request.args)
        count = RECENT_DEFAULT
        if args and args[-1].isascii() and args[-1].isdecimal():  # not ², not ①
            count = int(args.pop())
            if not 1 <= count <= RECENT_MAX:
                return [f"Usage: {USAGE['recent']}"]
        topic = None
        if args:
            topic = self._topic(" ".join(args))
            if topic is None:
                return [self._unknown_topic(" ".join(args))]
        alerts = await asyncio.to_thread(self.store.alerts.recent, request.chat, topic, count)
        if not alerts:
            about = f" for {html.escape(topic)}" if topic else ""
            return [f"No alerts in this chat yet{about}."]
        lines = []
        for alert in alerts:
            published = alert.published
            when = f"{published.astimezone(BERLIN):%d.%m. %H:%M} " if published else ""
            title = linked(clip(alert.title or "(untitled)", 200), alert.link)
            lines.append(f"{when}{html.escape(alert.outlet)}: {title}")
        return paginate(lines, separator="\n")

    async def _why(self, request: Request, now: datetime) -> list[str]:
        if request.reply_to is None:
            return [f"Usage: {USAGE['why']}"]
        members = await asyncio.to_thread(
            self.store.alerts.in_message, request.chat, request.reply_to
        )
        if not members:
            return ["That message is not an alert sent to this chat. Reply to an alert with /why."]
        picked = _pick_report(members, request.args)
        if isinstance(picked, str):
            return [picked]
        alert, entry_id = picked
        article = await asyncio.to_thread(self.store.articles.get, entry_id)
        if article is None:
            return ["The article behind that alert is no longer stored."]
        topics = [topic for topic in self.config().topics if topic.name in alert.topics]
        if not topics:
            return ["The topics of that alert are no longer configured."]
        verdicts = Matcher(topics).explain(article, [topic.name for topic in topics])
        lines = [f"<b>{html.escape(clip(alert.title, 200))}</b>"]
        for verdict in verdicts:
            lines += [html.escape(line) for line in describe(verdict)]
        note = await asyncio.to_thread(self.store.articles.story_note, entry_id)
        if note:
            lines.append(html.escape(f"Story: {note}"))
        return ["\n".join(lines)]

    async def _mute(self, request: Request, now: datetime) -> list[str]:
        if len(request.args) < 2:
            return [f"Usage: {USAGE['mute']}"]
        length = _duration(request.args[-1])
        if length is None:
            return [f"Usage: {USAGE['mute']}"]
        wanted = " ".join(request.args[:-1])
        topic = self._topic(wanted)
        if topic is None:
            return [self._unknown_topic(wanted)]
        until = now + length
        await asyncio.to_thread(
            self.store.mutes.set, request.chat, topic, until, request.user or None
        )
        return [
            f"Muted <b>{html.escape(topic)}</b> in this chat until "
            f"{until.astimezone(BERLIN):%d.%m. %H:%M}. /unmute lifts it. Alerts that match only "
            "muted topics are not sent; they stay in the database."
        ]

    async def _unmute(self, request: Request, now: datetime) -> list[str]:
        topic = None
        if request.args:
            topic = self._topic(" ".join(request.args))
            if topic is None:
                return [self._unknown_topic(" ".join(request.args))]
        lifted = await asyncio.to_thread(self.store.mutes.lift, request.chat, topic)
        if not lifted:
            return ["Nothing was muted here."]
        return [f"Lifted {lifted} mute{'s' if lifted != 1 else ''}."]

    async def _status(self, request: Request, now: datetime) -> list[str]:
        feeds = self.config().feeds
        return [await asyncio.to_thread(chat_status, self.store, feeds, request.chat, now)]

    async def _search(self, request: Request, now: datetime) -> list[str]:
        if not request.args:
            return [f"Usage: {USAGE['search']}"]
        try:
            query = parse(" ".join(request.args))
        except QueryError as exc:
            return [f"Cannot search for that ({html.escape(str(exc))}). Usage: {USAGE['search']}"]
        if request.chat in self._searching:
            return ["A search is still running in this chat; ask again when it has answered."]
        self._searching.add(request.chat)
        try:
            async with self._search_slots:
                scan = await asyncio.to_thread(
                    find,
                    self.store,
                    query,
                    now - timedelta(days=SEARCH_DAYS),
                    SEARCH_RESULTS,
                    self._stopping,
                    self.search_seconds,
                )
        finally:
            self._searching.discard(request.chat)
        if scan.stopped == "stopped":
            return ["The service is stopping; the search was not finished."]
        notes = _scan_notes(scan, self.search_seconds)
        if not scan.found:
            return [f"Nothing in the last {SEARCH_DAYS} days matches.{notes}"]
        lines = [f"<b>{len(scan.found)} newest matches, last {SEARCH_DAYS} days</b>"]
        for article, snippet in scan.found:
            entry = article.entry
            title = linked(clip(entry.title or "(untitled)", 200), entry.link)
            shown = html.escape(clip(snippet, 200))
            lines.append(f"{html.escape(entry.feed)}: {title}\n<i>{shown}</i>")
        if notes:
            lines.append(notes.strip())
        return paginate(lines)

    async def _feeds(self, request: Request, now: datetime) -> list[str]:
        config = self.config()
        states = await asyncio.to_thread(self.store.feeds.states)
        lines = status_report(config.feeds, states, {}, now)
        table = [line for line in lines if line.strip()][: 1 + len(config.feeds)]
        return paginate([html.escape(line) for line in table], separator="\n")

    async def _reload(self, request: Request, now: datetime) -> list[str]:
        if self.reload is None:
            return ["Reloading is not available here."]
        ok, summary = await self.reload(f"/reload from chat {request.chat}")
        head = "Reloaded" if ok else "Refused; the last good configuration stays in force"
        return [f"{head}: {html.escape(summary)}"]

    def _topic(self, wanted: str) -> str | None:
        """Find a topic by name, case-insensitively, or by a word that only one name contains."""
        names = [topic.name for topic in self.config().topics]
        folded = wanted.strip().casefold()
        exact = [name for name in names if name.casefold() == folded]
        if exact:
            return exact[0]
        partial = [name for name in names if folded and folded in name.casefold()]
        return partial[0] if len(partial) == 1 else None

    def _unknown_topic(self, wanted: str) -> str:
        names = ", ".join(topic.name for topic in self.config().topics)
        shown = html.escape(clip(wanted, 60))
        return f"No single topic matches '{shown}'. Topics: {html.escape(names)}"


def _audit(request: Request, result: str) -> None:
    """Log who changed what in which chat, and what came of it (a line of its own logger)."""
    shown = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", result))).strip()
    audit.info(
        "chat %s, user %s: /%s -> %s",
        request.chat,
        request.user or "unknown",
        " ".join((request.command, *request.args))[:200],
        clip(shown, 300),
    )


def _scan_notes(scan: Scan, seconds: float) -> str:
    """Say where a search stopped short, if it did (an empty string when it did not)."""
    notes = []
    if scan.stopped == "time":
        notes.append(
            f"Searched the newest {scan.read} articles: a search may take {seconds:g} s, "
            "so older ones were not searched."
        )
    elif scan.stopped == "articles":
        notes.append(f"Searched the newest {scan.read} articles; older ones were not searched.")
    if scan.costly:
        notes.append(f"{scan.costly} articles were too much work for this query and were skipped.")
    return "".join(f"\n<i>{note}</i>" for note in notes)


def _duration(text: str) -> timedelta | None:
    length = parse_duration(text)
    return length if length is not None and timedelta(0) < length <= MAX_MUTE else None


def _duration_text(length: timedelta) -> str:
    seconds = int(length.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _pick_report(members: Sequence[MessageAlert], args: Sequence[str]) -> tuple[Alert, int] | str:
    """Choose the report `/why` explains: the message's only one, or item N of a group.

    Returns the alert and its entry id, or what to answer instead (the numbered reports).
    """
    items = grouped_items((m.id, m.alert, m.story, m.kind) for m in members)
    if len(items) == 1:
        return members[0].alert, members[0].entry_id
    layout = next((m.part for m in members if m.part), None)
    first = int(json.loads(layout)["first"]) if layout else 1
    wanted = args[0] if args else ""
    number = int(wanted) if wanted.isascii() and wanted.isdigit() else None
    if number is not None and first <= number < first + len(items):
        lead = items[number - first].ids[0]
        return next((m.alert, m.entry_id) for m in members if m.id == lead)
    listed = [
        f"{first + index}. {html.escape(clip(item.alert.title, 80))}"
        for index, item in enumerate(items)
    ]
    head = f"This message groups {len(items)} reports. Reply to it with /why and a number:"
    return "\n".join([head, *listed])
