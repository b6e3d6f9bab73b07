"""Render alerts and digests for people: Telegram HTML (within Telegram's limits) and plain text."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from monitor.models import Alert
from monitor.snippet import mark_snippet

BERLIN = ZoneInfo("Europe/Berlin")
_TAG = re.compile(r"<[^>]+>")
# Telegram counts 4096 characters of visible text in UTF-16 code units; keep a margin.
MAX_MESSAGE_UNITS = 4000
MAX_TITLE_CHARS = 300
MAX_SOURCES_LISTED = 10
# A digest shows each story briefly: its snippet cut to this many characters.
DIGEST_SNIPPET_CHARS = 240


def utf16_len(text: str) -> int:
    """Return the length of `text` as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def safe_href(link: str | None) -> str | None:
    """Return `link` if it may become an href (an absolute http or https URL), else None.

    Anything else (javascript:, data:, a relative or malformed link) is shown as text only.
    """
    if not link or any(ord(char) < 0x21 or 0x7F <= ord(char) < 0xA0 for char in link):
        return None
    try:
        parts = urlsplit(link)
        parts.port  # noqa: B018 (raises for a port out of range, which Telegram refuses)
    except ValueError:  # e.g. an unbalanced [ in the host
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return link


def linked(text: str, link: str | None) -> str:
    """Return `text` escaped, as a link to `link` when that is a safe href."""
    href = safe_href(link)
    shown = html.escape(text)
    return f'<a href="{html.escape(href, quote=True)}">{shown}</a>' if href else shown


def render_html(alert: Alert, sources: Sequence[Alert] = ()) -> str:
    """Render an alert as Telegram HTML: only <b>, <i> and <a href>, everything else escaped.

    `sources` are later reports of the same story by other outlets, newest first; they are
    listed under the snippet ("Also reported by ... (3 sources)").
    """
    title = clip(alert.title or "(untitled)", MAX_TITLE_CHARS)
    heading = linked(title, alert.link) if safe_href(alert.link) else f"<b>{html.escape(title)}</b>"
    lines = [
        f"<b>{html.escape(' · '.join(alert.topics))}</b>",
        heading,
        html.escape(_byline(alert)),
    ]
    if not alert.from_page:
        lines.append(f"<i>{html.escape(unavailable(alert))}</i>")
    head = "\n".join(lines)
    footer = _sources_html(sources)
    budget = MAX_MESSAGE_UNITS - utf16_len(_visible(head + footer)) - 4
    tail = f"\n\n{footer}" if footer else ""
    return f"{head}\n\n{_snippet_html(alert, budget)}{tail}"


def _sources_html(sources: Sequence[Alert]) -> str:
    """List other outlets' reports of the story, newest first, with links and times."""
    if not sources:
        return ""
    shown = []
    for source in sources[:MAX_SOURCES_LISTED]:
        when = f" {source.published.astimezone(BERLIN):%H:%M}" if source.published else ""
        shown.append(linked(clip(source.outlet, 60), source.link) + when)
    more = len(sources) - MAX_SOURCES_LISTED
    listed = ", ".join(shown) + (f" and {more} more" if more > 0 else "")
    return f"<i>Also reported by</i> {listed} ({len(sources) + 1} sources)"


def sources_text(sources: Sequence[Alert]) -> str:
    """Say in plain text which outlets also reported the story, newest first."""
    names = ", ".join(source.outlet for source in sources)
    return f"Also reported by {names} ({len(sources) + 1} sources)"


def render_text(alert: Alert) -> str:
    """Render an alert as plain text for the console."""
    marked = mark_snippet(alert.snippet, alert.highlights, "**", "**")
    if not alert.from_page:
        marked += f"\n({unavailable(alert)[0].lower()}{unavailable(alert)[1:]})"
    return "\n".join(
        [f"[{' · '.join(alert.topics)}] {alert.title}", _byline(alert), alert.link or "", marked]
    )


def unavailable(alert: Alert) -> str:
    """Say why an alert was matched on the feed's summary rather than the article."""
    if alert.blocked_by:
        return f"Matched on the feed's summary: the article is behind {alert.blocked_by}."
    return "Matched on the feed's summary; the article text was not available."


def _byline(alert: Alert) -> str:
    if alert.published is None:
        return alert.outlet
    local = alert.published.astimezone(BERLIN)
    return f"{alert.outlet} · {local:%d.%m.%Y %H:%M} {local.tzname()}"


def _snippet_html(alert: Alert, budget: int) -> str:
    """Escape the snippet with hits in bold, cut to `budget` visible UTF-16 units."""
    snippet = alert.snippet
    if utf16_len(snippet) > budget:
        cut = budget - 1
        while utf16_len(snippet[:cut]) > budget - 1:
            cut -= 1
        snippet = snippet[:cut] + "…"
    return mark_snippet(snippet, alert.highlights, "<b>", "</b>", html.escape)


def _visible(text: str) -> str:
    """Return the text Telegram shows for our own HTML (tags dropped, entities decoded)."""
    return html.unescape(_TAG.sub("", text))


def clip(text: str, limit: int) -> str:
    """Cut `text` to `limit` characters, ending in "…" when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One story in a digest: its report, other outlets' reports in the same digest, their ids.

    `update` marks more reports on a story the chat was already told about; `followup` a new
    development of such a story.
    """

    alert: Alert
    sources: tuple[Alert, ...] = ()
    ids: tuple[int, ...] = ()
    followup: bool = False
    update: bool = False


@dataclass(frozen=True, slots=True)
class DigestPart:
    """One message of a digest or group, as Telegram HTML and as plain text, the alerts it
    carries, and what it takes to lay it out again (its title and first item number)."""

    html: str
    text: str
    ids: tuple[int, ...]
    alerts: tuple[Alert, ...]
    title: str = ""
    first: int = 1


def digest_heading(count: int, since: datetime | None, quiet: bool) -> str:
    """Say what a digest holds: "Digest: 7 alerts since 07:00" or after quiet hours."""
    alerts = f"{count} alert{'s' if count != 1 else ''}"
    if quiet:
        return f"Held during quiet hours: {alerts}"
    if since is None:
        return f"Digest: {alerts}"
    return f"Digest: {alerts} since {since.astimezone(BERLIN):%H:%M}"


def group_heading(count: int, since: datetime) -> str:
    """Say what a burst holds: "12 new reports since 14:03"."""
    return f"{count} new report{'s' if count != 1 else ''} since {since.astimezone(BERLIN):%H:%M}"


def grouped_items(reports: Iterable[tuple[int, Alert, str | None, str]]) -> list[DigestItem]:
    """Lay the reports of a grouped message out again: one item per story, in order, the same
    report from other outlets listed under its story's item.

    Each report is (alert id, alert, story, kind: new | same | followup).
    """
    items: list[DigestItem] = []
    lead_of: dict[str, int] = {}
    for alert_id, alert, story, kind in reports:
        if kind == "same" and story is not None and story in lead_of:
            index = lead_of[story]
            lead = items[index]
            items[index] = replace(lead, sources=(alert, *lead.sources), ids=(*lead.ids, alert_id))
            continue
        if story is not None:
            lead_of.setdefault(story, len(items))
        items.append(
            DigestItem(
                alert=alert, ids=(alert_id,), followup=kind == "followup", update=kind == "same"
            )
        )
    return items


def relaid_part(items: Sequence[DigestItem], title: str, first: int) -> DigestPart | None:
    """Lay one message of a group out again (more sources under an item); None when the
    result no longer fits in one Telegram message."""
    numbered = list(enumerate(items, start=first))
    body = [_item_html(number, item) for number, item in numbered]
    text_html = "\n\n".join([f"<b>{html.escape(title)}</b>", *body])
    if utf16_len(_visible(text_html)) > MAX_MESSAGE_UNITS:
        return None
    return DigestPart(
        html=text_html,
        text="\n\n".join([title, *(_item_text(n, item) for n, item in numbered)]),
        ids=tuple(i for item in items for i in item.ids),
        alerts=tuple(a for item in items for a in (item.alert, *item.sources)),
        title=title,
        first=first,
    )


def digest_parts(items: Sequence[DigestItem], heading: str) -> list[DigestPart]:
    """Lay the items out as few messages as Telegram's length limit allows, in order.

    Each message starts with the heading, numbered "(2/3)" when there are several.
    """
    reserve = utf16_len(heading) + len(" (99/99)") + 2
    groups: list[list[tuple[int, DigestItem, str]]] = [[]]
    used = reserve
    for number, item in enumerate(items, start=1):
        rendered = _item_html(number, item)
        size = utf16_len(_visible(rendered)) + 2
        if groups[-1] and used + size > MAX_MESSAGE_UNITS:
            groups.append([])
            used = reserve
        groups[-1].append((number, item, rendered))
        used += size
    total = len(groups)
    parts = []
    for index, group in enumerate(groups, start=1):
        title = heading if total == 1 else f"{heading} ({index}/{total})"
        bold = f"<b>{html.escape(title)}</b>"
        parts.append(
            DigestPart(
                html="\n\n".join([bold, *(rendered for _, _, rendered in group)]),
                text="\n\n".join([title, *(_item_text(n, item) for n, item, _ in group)]),
                ids=tuple(i for _, item, _ in group for i in item.ids),
                alerts=tuple(a for _, item, _ in group for a in (item.alert, *item.sources)),
                title=title,
                first=group[0][0],
            )
        )
    return parts


def _item_html(number: int, item: DigestItem) -> str:
    alert = item.alert
    title = linked(clip(alert.title or "(untitled)", MAX_TITLE_CHARS), alert.link)
    label = "More on: " if item.update else "Follow-up: " if item.followup else ""
    line = f"<b>{number}.</b> {label}{title}"
    about = f"<i>{html.escape(' · '.join(alert.topics))}</i> · {html.escape(_byline(alert))}"
    footer = _sources_html(item.sources)
    lines = [line, about + (f"\n{footer}" if footer else "")]
    if not item.update:
        lines.append(_short_snippet(alert, html_escape=True))
    return "\n".join(lines)


def _item_text(number: int, item: DigestItem) -> str:
    alert = item.alert
    label = "More on: " if item.update else "Follow-up: " if item.followup else ""
    lines = [f"{number}. {label}{alert.title or '(untitled)'}"]
    lines.append(f"{' · '.join(alert.topics)} · {_byline(alert)}")
    if alert.link:
        lines.append(alert.link)
    if item.sources:
        lines.append(sources_text(item.sources))
    if not item.update:
        lines.append(_short_snippet(alert, html_escape=False))
    return "\n".join(lines)


def _short_snippet(alert: Alert, html_escape: bool) -> str:
    """Cut the snippet at a word boundary near DIGEST_SNIPPET_CHARS, hits marked."""
    snippet, highlights = alert.snippet, alert.highlights
    if len(snippet) > DIGEST_SNIPPET_CHARS:
        cut = snippet.rfind(" ", 0, DIGEST_SNIPPET_CHARS)
        cut = cut if cut > DIGEST_SNIPPET_CHARS // 2 else DIGEST_SNIPPET_CHARS
        snippet = snippet[:cut] + "…"
        highlights = tuple(span for span in highlights if span.end <= cut)
    if html_escape:
        return mark_snippet(snippet, highlights, "<b>", "</b>", html.escape)
    return mark_snippet(snippet, highlights, "**", "**")
