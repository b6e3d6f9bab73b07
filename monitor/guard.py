"""The address guard: only http(s) URLs whose host resolves to public addresses are fetched
(a feed or page link must not reach the service's own network)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from monitor.errors import BlockedAddressError, FetchError


async def check_public(url: str) -> None:
    """Raise `BlockedAddressError` unless `url` is http(s) and its host resolves only publicly."""
    host = check_scheme(url)
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, None, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            raise FetchError(
                f"cannot resolve {host}: {exc.strerror or exc}", unreachable=True
            ) from exc
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses:
        if not address.is_global or address.is_multicast:
            raise BlockedAddressError(
                f"refused {host}: resolves to non-public address {address} "
                "(set MONITOR_ALLOW_PRIVATE_NETWORKS=true to allow)"
            )


def check_scheme(url: str) -> str:
    """Return the URL's host; refuse anything but an http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # "http://[::1/x": the URL may hold a secret, so it is not repeated
        raise FetchError("not a valid URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise BlockedAddressError(f"refused {short_url(url)}: only http and https URLs are fetched")
    return host


def short_url(url: str) -> str:
    return url if len(url) <= 120 else url[:117] + "..."
