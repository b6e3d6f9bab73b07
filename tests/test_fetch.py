"""HTTP fetching against a real local server: redirects, caps, conditional GET, address guard."""

from __future__ import annotations

import gzip

import pytest

from monitor.errors import BlockedAddressError, FetchError
from monitor.fetch import Fetched, NotModified, Validators, fetch, make_client
from monitor.guard import check_public
from tests.servers import ContentServer

CAP = 100_000


async def get(url: str, **kw: object) -> Fetched | NotModified:
    async with make_client("news-monitor-test/1", 2.0) as client:
        return await fetch(client, url, max_bytes=CAP, **kw)  # type: ignore[arg-type]


async def test_follows_redirects_to_the_final_url(content: ContentServer) -> None:
    content.add("/old", "", status=301, headers={"Location": "/middle"})
    content.add("/middle", "", status=302, headers={"Location": content.url("/new")})
    content.add("/new", "<rss/>")
    result = await get(content.url("/old"))
    assert isinstance(result, Fetched)
    assert result.url == content.url("/new") and result.body == b"<rss/>"


async def test_redirect_loop_and_too_many_redirects_fail_clearly(content: ContentServer) -> None:
    content.add("/a", "", status=308, headers={"Location": "/b"})
    content.add("/b", "", status=308, headers={"Location": "/a"})
    with pytest.raises(FetchError, match="redirect loop"):
        await get(content.url("/a"))
    for hop in range(7):
        content.add(f"/hop{hop}", "", status=302, headers={"Location": f"/hop{hop + 1}"})
    with pytest.raises(FetchError, match="more than 5 redirects"):
        await get(content.url("/hop0"))


async def test_conditional_get_returns_not_modified(content: ContentServer) -> None:
    content.add(
        "/feed", "<rss/>", etag='"abc"', headers={"Last-Modified": "Mon, 02 Dec 2024 10:00:00 GMT"}
    )
    first = await get(content.url("/feed"))
    assert isinstance(first, Fetched)
    assert first.validators == Validators('"abc"', "Mon, 02 Dec 2024 10:00:00 GMT")
    assert isinstance(await get(content.url("/feed"), validators=first.validators), NotModified)
    assert content.requests[-1][1]["If-Modified-Since"] == "Mon, 02 Dec 2024 10:00:00 GMT"


async def test_size_cap_applies_to_declared_streamed_and_decompressed_bodies(
    content: ContentServer,
) -> None:
    content.add("/big", b"x" * (CAP + 1))
    with pytest.raises(FetchError, match="exceeds the 100000-byte cap"):
        await get(content.url("/big"))
    bomb = gzip.compress(b"\0" * (20 * CAP))
    assert len(bomb) < CAP
    content.add("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError, match="body exceeds the 100000-byte cap"):
        await get(content.url("/bomb"))


async def test_http_errors_and_timeouts_name_the_cause(content: ContentServer) -> None:
    content.add("/gone", "", status=410)
    with pytest.raises(FetchError, match="HTTP 410 Gone"):
        await get(content.url("/gone"))
    content.add("/slow", "<rss/>", delay=3.0)
    with pytest.raises(FetchError, match="timed out"):
        await get(content.url("/slow"))


async def test_guard_refuses_private_addresses_and_redirects_to_them(
    content: ContentServer,
) -> None:
    with pytest.raises(BlockedAddressError, match=r"non-public address 127\.0\.0\.1"):
        await get(content.url("/page"), guard=True)
    for url in (
        "http://10.1.2.3/x",
        "http://[::1]/x",
        "http://169.254.169.254/latest",
        "http://224.0.0.1/",
    ):
        with pytest.raises(BlockedAddressError):
            await check_public(url)
    for url in ("file:///etc/passwd", "ftp://example.org/x", "javascript:alert(1)"):
        with pytest.raises(BlockedAddressError, match="only http and https"):
            await check_public(url)


async def test_guard_allows_public_literal_addresses() -> None:
    await check_public("https://93.184.215.14/article")


async def test_refused_connection_is_a_fetch_error() -> None:
    with pytest.raises(FetchError, match="network error"):
        await get("http://127.0.0.1:9/feed")


async def test_an_invalid_url_is_a_fetch_error_that_does_not_repeat_it() -> None:
    # a feed URL may carry a token; a hostile feed may carry anything as a link
    for url in ("http://127.0.0.1:99999/feed?token=SECRET", "http://[::1/feed?token=SECRET"):
        with pytest.raises(FetchError) as refused:
            await get(url)
        assert "not a valid URL" in str(refused.value) and "SECRET" not in str(refused.value)
