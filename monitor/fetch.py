"""Get bytes over HTTP (aiohttp): conditional GET, timeouts, streamed size caps, address guard."""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import aiohttp

from monitor.errors import FetchError, GoneError
from monitor.guard import check_public, check_scheme, short_url

MAX_REDIRECTS = 5
POOL_CONNECTIONS = 50
# Requests in flight at once, kept below the pool so none waits inside the client for a connection.
MAX_IN_FLIGHT = POOL_CONNECTIONS - 2
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


@dataclass(frozen=True, slots=True)
class Validators:
    """What a server said about a resource's version, sent back on the next request."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class Fetched:
    """A complete response body, with the URL it finally came from.

    `moved_to` is that URL when every redirect on the way was permanent (301/308);
    `max_age` is the Cache-Control max-age in seconds, if the server sent one.
    """

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    validators: Validators
    moved_to: str | None = None
    max_age: int | None = None

    @property
    def digest(self) -> str:
        """A hash of the body: the same body served again is recognised without parsing it."""
        return hashlib.blake2b(self.body, digest_size=16).hexdigest()


class HostGate:
    """Politeness per host (at most `per_host` requests at once, `delay` seconds between the
    starts of requests that cost the server a body) and a bound on requests in flight overall,
    kept below the client's connection pool so a burst of polls queues here instead of waiting
    inside the client."""

    def __init__(self, per_host: int = 2, delay: float = 0.5, total: int = MAX_IN_FLIGHT) -> None:
        self.per_host = per_host
        self.delay = delay
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._next_start: dict[str, float] = {}
        self._total = asyncio.Semaphore(total)

    @asynccontextmanager
    async def slot(
        self, url: str, *, conditional: bool = False
    ) -> AsyncIterator[Callable[[], None]]:
        """Hold a request slot for the URL's host, waiting for the host's turn.

        Yields what to call when the answer brought a body. A conditional request takes the
        host's turn only then: answered 304 Not Modified it cost the server next to nothing, so
        the host's next request need not wait for it (the concurrency limit still holds).
        """
        host = (urlsplit(url).hostname or "").lower()
        semaphore = self._slots.setdefault(host, asyncio.Semaphore(self.per_host))
        async with semaphore:
            now = time.monotonic()
            start = max(now, self._next_start.get(host, now))
            if not conditional:
                self._next_start[host] = start + self.delay
            if start > now:
                await asyncio.sleep(start - now)

            def spent() -> None:
                if conditional:
                    taken = self._next_start.get(host, start)
                    self._next_start[host] = max(taken, start + self.delay)

            async with self._total:
                yield spent


@dataclass(frozen=True, slots=True)
class NotModified:
    """The server answered 304: nothing changed since the validators we sent."""


class HttpClient:
    """The one HTTP client the service shares (an aiohttp session, opened on first use).

    aiohttp rather than httpx: on 1,000 conditional GETs answered 304 over loopback, httpx
    0.28 spent 0.7 s of CPU with 2 requests in flight and 2.7 s with 32 (its connection pool
    grows slower with every waiting request); aiohttp spent 0.2 s either way (BENCHMARKS.md,
    polling). Redirects are followed by `fetch`, which checks every hop.
    """

    def __init__(self, user_agent: str, timeout: float) -> None:
        self._headers = {"User-Agent": user_agent}
        # No limit on waiting for a pooled connection: that is not the server's fault, and
        # every request is bounded by the fetch deadline anyway.
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=None, sock_connect=min(timeout, 10.0), sock_read=timeout
        )
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        """The session, created inside the running event loop the first time it is needed."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=POOL_CONNECTIONS, limit_per_host=0),
                trust_env=False,
            )
        return self._session

    async def aclose(self) -> None:
        """Close the pooled connections."""
        if self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def make_client(user_agent: str, timeout: float) -> HttpClient:
    """Build the one HTTP client the service shares; redirects are followed by `fetch`."""
    return HttpClient(user_agent, timeout)


async def fetch(
    client: HttpClient,
    url: str,
    *,
    max_bytes: int,
    validators: Validators | None = None,
    accept: str = FEED_ACCEPT,
    guard: bool = False,
    gate: HostGate | None = None,
    deadline: float | None = None,
) -> Fetched | NotModified:
    """GET `url`, following up to MAX_REDIRECTS redirects; raise `FetchError` saying why not.

    With `guard`, every hop must be http(s) and resolve only to public addresses. `gate` spaces
    requests per host; `deadline` bounds the whole fetch in seconds (a server that drips bytes
    slowly never trips a read timeout).
    """
    return await _fetch(client, url, max_bytes, validators, accept, guard, gate, deadline)


async def _fetch(
    client: HttpClient,
    url: str,
    max_bytes: int,
    validators: Validators | None,
    accept: str,
    guard: bool,
    gate: HostGate | None,
    deadline: float | None,
) -> Fetched | NotModified:
    headers = _request_headers(accept, validators)
    visited = {url}
    permanent = True
    for _ in range(MAX_REDIRECTS + 1):
        result = await _hop(client, url, headers, max_bytes, guard, gate, deadline)
        if not isinstance(result, _Redirect):
            return _finish(result, validators, moved=permanent and len(visited) > 1)
        permanent = permanent and result.permanent
        url = result.location
        if url in visited:
            raise FetchError(f"redirect loop at {short_url(url)}")
        visited.add(url)
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


def _request_headers(accept: str, validators: Validators | None) -> dict[str, str]:
    headers = {"Accept": accept}
    if validators is not None and validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators is not None and validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    return headers


async def _hop(
    client: HttpClient,
    url: str,
    headers: dict[str, str],
    max_bytes: int,
    guard: bool,
    gate: HostGate | None,
    deadline: float | None,
) -> Fetched | NotModified | _Redirect:
    """Check one URL, then request it, waiting for the host's turn when there is a gate.

    The deadline runs from when the request starts, not while it waits for its turn.
    """
    if guard:
        await check_public(url)
    else:
        check_scheme(url)
    if gate is None:
        return await _get_within(client, url, headers, max_bytes, deadline)
    conditional = "If-None-Match" in headers or "If-Modified-Since" in headers
    async with gate.slot(url, conditional=conditional) as spent:
        result = await _get_within(client, url, headers, max_bytes, deadline)
        if isinstance(result, Fetched):
            spent()
        return result


async def _get_within(
    client: HttpClient,
    url: str,
    headers: dict[str, str],
    max_bytes: int,
    deadline: float | None,
) -> Fetched | NotModified | _Redirect:
    try:
        async with asyncio.timeout(deadline):
            return await _get_once(client, url, headers, max_bytes)
    except TimeoutError:
        raise FetchError(f"timed out: no complete answer within {deadline:g} s") from None


def _finish(
    result: Fetched | NotModified, validators: Validators | None, *, moved: bool
) -> Fetched | NotModified:
    if isinstance(result, NotModified):
        if validators is None:
            raise FetchError("HTTP 304 Not Modified to a request without validators", status=304)
        return result
    return replace(result, moved_to=result.url) if moved else result


@dataclass(frozen=True, slots=True)
class _Redirect:
    location: str
    permanent: bool


async def _get_once(
    client: HttpClient, url: str, headers: dict[str, str], max_bytes: int
) -> Fetched | NotModified | _Redirect:
    """One request: the result, or the redirect to follow."""
    try:
        async with client.session().get(url, headers=headers, allow_redirects=False) as response:
            status = response.status
            if status in (301, 302, 303, 307, 308):
                location = response.headers.get("Location")
                if not location:
                    raise FetchError(f"HTTP {status} redirect without Location", status=status)
                return _Redirect(str(urljoin(url, location)), status in (301, 308))
            if status == 304:
                return NotModified()
            if status >= 400:
                raise _status_error(status, response.reason, response.headers)
            body = await _read_capped(response, max_bytes)
            return Fetched(
                url=url,
                status=status,
                headers=_plain(response.headers),
                body=body,
                validators=Validators(
                    response.headers.get("ETag"), response.headers.get("Last-Modified")
                ),
                max_age=_max_age(response.headers.get("Cache-Control", "")),
            )
    # Only the client's own timeouts arrive here: the fetch deadline cancels this coroutine
    # and becomes a TimeoutError outside it (`_get_within`).
    except TimeoutError as exc:
        unreachable = isinstance(exc, aiohttp.ConnectionTimeoutError)
        raise FetchError(f"timed out ({_what(exc)})", unreachable=unreachable) from exc
    except (aiohttp.ClientError, ValueError) as exc:
        unreachable = isinstance(exc, aiohttp.ClientConnectorError)
        raise FetchError(f"network error ({_what(exc)})", unreachable=unreachable) from exc


def _what(exc: BaseException) -> str:
    """Say what went wrong on the wire in words, not the client library's class names."""
    if isinstance(exc, aiohttp.InvalidURL | ValueError):  # never repeated: it may hold a token
        return "not a valid URL"
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return "no connection"
    if isinstance(exc, TimeoutError):
        return "no answer"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"cannot resolve the host: {exc.os_error.strerror or exc.os_error}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect: {exc.os_error.strerror or exc.os_error}"
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientConnectionResetError):
        return "the server closed the connection"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "the answer was cut short"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"malformed answer: {exc.message}"
    return f"{type(exc).__name__}: {exc}"


def _plain(headers: Mapping[str, str]) -> dict[str, str]:
    """The response headers with lower-case names, repeated ones joined (as HTTP allows)."""
    plain: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        plain[key] = f"{plain[key]}, {value}" if key in plain else value
    return plain


def _status_error(status: int, reason: str | None, headers: Mapping[str, str]) -> FetchError:
    message = f"HTTP {status} {reason or ''}".strip()
    if status == 410:
        return GoneError(message, status=status)
    wait = retry_after(headers.get("Retry-After")) if status in (429, 503) else None
    if wait is not None:
        message += f" (server asks to retry after {wait:g} s)"
    return FetchError(message, status=status, retry_after=wait)


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Read a Retry-After header: delay seconds or an HTTP date; None when absent or invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _max_age(cache_control: str) -> int | None:
    found = re.search(r"(?:^|[,\s])max-age=(\d+)", cache_control)
    return int(found.group(1)) if found else None


async def _read_capped(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"body of {int(declared)} bytes exceeds the {max_bytes}-byte cap")
    chunks = []
    size = 0
    # The stream yields decompressed data, so the cap also stops compression bombs.
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(f"body exceeds the {max_bytes}-byte cap")
        chunks.append(chunk)
    return b"".join(chunks)
