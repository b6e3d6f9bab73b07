"""Turn an article page into its main text (trafilatura); pure, run in a worker process."""

from __future__ import annotations

from dataclasses import dataclass

import trafilatura

# Below this many characters the "main text" is a consent wall, a teaser or navigation.
MIN_TEXT_CHARS = 200


@dataclass(frozen=True, slots=True)
class Page:
    """What a page says about itself: its title (may be empty) and its main text."""

    title: str
    text: str | None


def extract_text(html: bytes, url: str) -> str | None:
    """Return the page's main text, or None when there is no article text worth matching."""
    if not html.strip():
        return None
    text = trafilatura.extract(
        html,
        url=url,
        include_comments=False,
        include_tables=False,
        deduplicate=False,  # its cache makes output depend on what the process saw before
    )
    return _worth_matching(text)


def extract_page(html: bytes, url: str) -> Page:
    """Return the page's own title and main text (for pages that come without a feed entry)."""
    if not html.strip():
        return Page("", None)
    document = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        deduplicate=False,
    )
    if document is None:
        return Page("", None)
    fields = document if isinstance(document, dict) else document.as_dict()
    return Page(str(fields.get("title") or "").strip(), _worth_matching(fields.get("text")))


# Markers of walls that stand between a reader and the article. They are only consulted when a
# page yields no article text: "paywall" also appears in ordinary pages' tracking scripts.
_CONSENT_MARKERS = (
    b"zonconsent",  # ZEIT ONLINE's consent cookie
    b"sp_message_container",  # Sourcepoint consent dialogs (SPIEGEL and others)
    b"cmp-container",
    b"consent-wall",
    b"werbung und tracking",
    b"zustimmen und weiter",
    b"accept and continue",
)
_PAYWALL_MARKERS = (
    b'data-area="paywall"',  # SPIEGEL+
    b"spiegel+",
    b"z+ (abo)",
    b"jetzt weiterlesen mit",
    b"weiterlesen mit abo",
    b"paywall",
    b"subscribe to continue",
)


def wall(html: bytes) -> str | None:
    """Name what blocks a page that yielded no article text: "a paywall", "a consent wall"."""
    head = html[:400_000].lower()
    if any(marker in head for marker in _CONSENT_MARKERS):
        return "a consent wall"
    if any(marker in head for marker in _PAYWALL_MARKERS):
        return "a paywall"
    return None


def _worth_matching(text: object) -> str | None:
    if not isinstance(text, str) or len(text.strip()) < MIN_TEXT_CHARS:
        return None
    return text.strip()
