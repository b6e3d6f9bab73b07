"""Turn an article page into its main text (trafilatura); pure, run in a worker process."""

from __future__ import annotations

import trafilatura

# Below this many characters the "main text" is a consent wall, a teaser or navigation.
MIN_TEXT_CHARS = 200


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
        favor_precision=False,
    )
    if not text or len(text.strip()) < MIN_TEXT_CHARS:
        return None
    return str(text).strip()
