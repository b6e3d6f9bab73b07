"""Identity keys for entries: the feed's GUID and the article's canonical URL."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from monitor.models import Entry

# Query parameters that only track where a reader came from; they never identify an article.
_TRACKING_PREFIXES = ("utm_", "wt_", "at_", "mtm_", "pk_", "ga_", "mc_", "itm_")
_TRACKING_NAMES = {"fbclid", "gclid", "dclid", "msclkid", "xtor", "ref", "referrer", "cmp", "wt_mc"}


def canonical_url(url: str) -> str:
    """Return the identity form of a URL: https, no www., no tracking, sorted query, no fragment.

    A link that is no URL at all (`http://[::1/x`, a port of 99999) identifies itself as written:
    one hostile item must not stop its feed.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    host = (parts.hostname or "").lower().removeprefix("www.")
    netloc = f"{host}:{port}" if port and port not in (80, 443) else host
    query = ""
    if parts.query:  # most article URLs have none
        query = urlencode(
            sorted(
                (name, value)
                for name, value in parse_qsl(parts.query, keep_blank_values=True)
                if not name.lower().startswith(_TRACKING_PREFIXES)
                and name.lower() not in _TRACKING_NAMES
            )
        )
    return urlunsplit(("https", netloc, parts.path or "/", query, ""))


def entry_keys(entry: Entry) -> tuple[str, ...]:
    """Return every key that identifies `entry`; an entry is seen if any of them is."""
    keys = []
    if entry.link:
        keys.append("url:" + canonical_url(entry.link))
    if entry.guid:
        keys.append(f"guid:{entry.feed}:{entry.guid.strip()}")
    if not keys:
        # No GUID and no link: the title is all that identifies the item within its feed.
        keys.append(f"title:{entry.feed}:{entry.title.strip().casefold()}")
    return tuple(keys)
