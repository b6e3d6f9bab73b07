"""The database, one module per entity (Miniflux's internal/storage is the model).

store.py       Store: owns the engine, exposes one object per entity
engine.py      connections, transactions, outages (StoreUnavailable), advisory locks
schema.py      the tables as the code uses them now; migrations.py builds them
feeds.py       feeds and their schedule (validators, errors, next poll, claims)
entries.py     entries and their identity keys; recording a poll's new entries
articles.py    entries read back as articles (story index, search, /why)
outbox.py      alerts waiting for delivery, each attempt's claim and outcome
alerts.py      alerts read back by story, by message, by time
grades.py      analysts' labels of alerts
chats.py       what delivery learned about chats; mutes.py topics muted in a chat
leases.py      replicas: leases, feed-claim release, the story lock, heartbeats
copy.py        `state copy`: a whole database into an empty one
"""

from monitor.store.alerts import MessageAlert, StoryAlert
from monitor.store.articles import StoredArticle
from monitor.store.chats import ChatState
from monitor.store.copy import copy_state, migrate_state
from monitor.store.engine import connect, safe_url
from monitor.store.entries import NewEntry
from monitor.store.feeds import Feeds, FeedState, Polled, Unchanged
from monitor.store.outbox import PendingAlert, PendingChat
from monitor.store.store import Store

__all__ = [
    "ChatState",
    "FeedState",
    "Feeds",
    "MessageAlert",
    "NewEntry",
    "PendingAlert",
    "PendingChat",
    "Polled",
    "Store",
    "StoredArticle",
    "StoryAlert",
    "Unchanged",
    "connect",
    "copy_state",
    "migrate_state",
    "safe_url",
]
