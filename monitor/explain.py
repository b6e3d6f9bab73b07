"""Explain matching for analysts: load one article from a URL or a file; describe verdicts."""

from __future__ import annotations

from pathlib import Path

from monitor.errors import FetchError
from monitor.extract import extract_page
from monitor.fetch import PAGE_ACCEPT, Fetched, HttpClient, fetch
from monitor.match import Verdict
from monitor.models import Article, Entry
from monitor.snippet import mark_snippet

MAX_FILE_BYTES = 5 * 1024 * 1024


async def article_from_url(url: str, client: HttpClient, *, max_bytes: int, guard: bool) -> Article:
    """Fetch a page and extract it."""
    page = await fetch(client, url, max_bytes=max_bytes, accept=PAGE_ACCEPT, guard=guard)
    if not isinstance(page, Fetched):
        raise FetchError(f"{url} answered 304 Not Modified to an unconditional request")
    return article_from_html(page.body, page.url)


def article_from_file(path: Path) -> Article:
    """Read a saved page (HTML) or a text file whose first line is the title."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise FetchError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
        data = path.read_bytes()
    except OSError as exc:
        raise FetchError(f"{path}: cannot be read ({exc.strerror})") from None
    if data.lstrip()[:1] == b"<":
        return article_from_html(data, path.resolve().as_uri())
    title, _, body = data.decode("utf-8", errors="replace").partition("\n")
    return _article(title.strip(), body.strip(), str(path), from_page=True)


def article_from_html(html: bytes, url: str) -> Article:
    """Extract a page; when it has no main text, fall back to its title alone."""
    page = extract_page(html, url)
    return _article(page.title, page.text or "", url, from_page=page.text is not None)


def _article(title: str, text: str, link: str, *, from_page: bool) -> Article:
    entry = Entry(feed="explain", guid=None, link=link, title=title, summary="", published=None)
    return Article(entry, text, from_page)


def describe(verdict: Verdict) -> list[str]:
    """Render one verdict as plain lines for a terminal or a chat."""
    mark = "MATCH" if verdict.matched else "no match"
    lines = [f"{verdict.topic}: {mark} (score {verdict.score:g}): {verdict.reason}"]
    if verdict.terms:
        lines.append(f"  terms found: {', '.join(verdict.terms)}")
    if verdict.from_lists:
        lines.append(f"  from term lists: {', '.join(verdict.from_lists)}")
    if verdict.match is not None:
        marked = mark_snippet(verdict.match.snippet, verdict.match.highlights, "[", "]")
        lines.append(f"  snippet: {marked}")
    return lines
