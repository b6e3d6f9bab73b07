"""Get bytes over HTTP (httpx): conditional GET, timeouts, streamed size caps, address guard."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from monitor.errors import BlockedAddressError, FetchError

MAX_REDIRECTS = 5
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
    """A complete response body, with the URL it finally came from."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    validators: Validators


@dataclass(frozen=True, slots=True)
class NotModified:
    """The server answered 304: nothing changed since the validators we sent."""


def make_client(user_agent: str, timeout: float) -> httpx.AsyncClient:
    """Build the one HTTP client the service shares; redirects are followed by `fetch`."""
    return httpx.AsyncClient(
        headers={"User-Agent": user_agent},
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        follow_redirects=False,
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
        trust_env=False,
    )


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    max_bytes: int,
    validators: Validators | None = None,
    accept: str = FEED_ACCEPT,
    guard: bool = False,
) -> Fetched | NotModified:
    """GET `url`, following up to MAX_REDIRECTS redirects; raise `FetchError` saying why not.

    With `guard`, every hop must be http(s) and resolve only to public addresses.
    """
    headers = {"Accept": accept}
    if validators is not None:
        if validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
    visited = {url}
    for _ in range(MAX_REDIRECTS + 1):
        if guard:
            await check_public(url)
        else:
            _check_scheme(url)
        result = await _get_once(client, url, headers, max_bytes)
        if isinstance(result, str):
            url = result
            if url in visited:
                raise FetchError(f"redirect loop at {_short(url)}")
            visited.add(url)
            continue
        return result
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


async def _get_once(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], max_bytes: int
) -> Fetched | NotModified | str:
    """One request: the result, or the absolute URL of a redirect to follow."""
    try:
        async with client.stream("GET", url, headers=headers) as response:
            if response.status_code in (301, 302, 303, 307, 308):
                location = response.headers.get("Location")
                if not location:
                    raise FetchError(f"HTTP {response.status_code} redirect without Location")
                return str(urljoin(url, location))
            if response.status_code == 304:
                return NotModified()
            if response.status_code >= 400:
                raise FetchError(f"HTTP {response.status_code} {response.reason_phrase}".strip())
            body = await _read_capped(response, max_bytes)
            return Fetched(
                url=url,
                status=response.status_code,
                headers=dict(response.headers),
                body=body,
                validators=Validators(
                    response.headers.get("ETag"), response.headers.get("Last-Modified")
                ),
            )
    except httpx.TimeoutException as exc:
        raise FetchError(f"timed out ({type(exc).__name__})") from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"network error ({type(exc).__name__}: {exc})") from exc


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"body of {int(declared)} bytes exceeds the {max_bytes}-byte cap")
    chunks = []
    size = 0
    # aiter_bytes yields decompressed data, so the cap also stops compression bombs.
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(f"body exceeds the {max_bytes}-byte cap")
        chunks.append(chunk)
    return b"".join(chunks)


async def check_public(url: str) -> None:
    """Raise `BlockedAddressError` unless `url` is http(s) and its host resolves only publicly."""
    host = _check_scheme(url)
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, None, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            raise FetchError(f"cannot resolve {host}: {exc.strerror or exc}") from exc
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses:
        if not address.is_global or address.is_multicast:
            raise BlockedAddressError(
                f"refused {host}: resolves to non-public address {address} "
                "(set MONITOR_ALLOW_PRIVATE_NETWORKS=true to allow)"
            )


def _check_scheme(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedAddressError(f"refused {_short(url)}: only http and https URLs are fetched")
    return parts.hostname


def _short(url: str) -> str:
    return url if len(url) <= 120 else url[:117] + "..."
