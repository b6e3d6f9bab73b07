"""Fill the story index from the store: at start with the articles within its window, then
with the articles other replicas stored since."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from monitor.specifics import specifics
from monitor.store import Store, StoredArticle
from monitor.stories import StoryIndex
from monitor.story_copies import shingle_signature

logger = logging.getLogger(__name__)


class StoryLoader:
    """Loads stored articles into one story index, remembering how far it has read."""

    def __init__(self, store: Store, stories: StoryIndex, recorded: set[int]) -> None:
        self.store = store
        self.stories = stories
        self._recorded = recorded  # ids of the entries this process stored: already indexed
        self._cursor = 0  # the last entry id loaded into the story index

    def load(self, now: datetime) -> None:
        """Rebuild the story index from the articles stored within its window."""
        for stored in self.store.articles.stored(now - self.stories.window):
            self._cursor = max(self._cursor, stored.id)
            index_stored(self.stories, stored)
        if len(self.stories):
            logger.info("story index: %d alerted articles in the window", len(self.stories))

    def sync(self) -> None:
        """Load the articles other replicas stored since the last look into the story index.

        Called under the store's story lock, so every replica places an article knowing every
        article placed before it. With SQLite there is one replica and nothing to load.
        """
        if self.store.engine.dialect.name == "sqlite":
            return
        window = datetime.now(UTC) - self.stories.window
        for stored in self.store.articles.stored(window, after_id=self._cursor):
            self._cursor = stored.id
            if stored.id in self._recorded:
                self._recorded.discard(stored.id)  # ours: already in the index
                continue
            index_stored(self.stories, stored)


def index_stored(stories: StoryIndex, stored: StoredArticle) -> None:
    """Count a stored article's words and, if it belongs to a story, add it to that story."""
    found = specifics(stored.title, stored.text)
    stories.observe(found, stored.seen_at)
    if stored.story is not None:  # the first stored member of a story is its first report
        signature = shingle_signature(f"{stored.title}\n{stored.text}")
        key = f"entry:{stored.id}"
        stories.add(key, stored.story, found, signature, stored.seen_at, stored.title)


def story_index(store: Store, window: timedelta, now: datetime) -> StoryIndex:
    """Build the story index of the articles stored within `window` before `now`."""
    stories = StoryIndex(window=window)
    for stored in store.articles.stored(now - window):
        index_stored(stories, stored)
    return stories
