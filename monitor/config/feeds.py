"""feeds.yaml: the feeds to poll."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from monitor.config.base import Name, Strict


class FeedConfig(Strict):
    """One feed to poll."""

    name: Name
    url: str
    interval: int = Field(default=600, ge=30, le=86400)
    enabled: bool = True

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not re.fullmatch(r"https?://[^/\s?#]+[^\s]*", url):
            raise ValueError("must be an http:// or https:// URL")
        return url


class FeedsFile(Strict):
    """feeds.yaml: the feeds to poll."""

    feeds: list[FeedConfig]
