"""The database schema as the code uses it now: every table, its columns and indexes.

`migrations.py` builds this schema step by step; the entity modules read and write through it.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

schema_migrations = sa.Table(
    "schema_migrations",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
)
feeds = sa.Table(
    "feeds",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("first_polled_at", sa.DateTime(timezone=True)),
    sa.Column("last_success_at", sa.DateTime(timezone=True)),
    sa.Column("last_error_at", sa.DateTime(timezone=True)),
    sa.Column("last_error", sa.Text),
    sa.Column("consecutive_errors", sa.Integer, nullable=False, server_default="0"),
    sa.Column("poll_url", sa.Text),  # where a permanent redirect moved the feed
    sa.Column("next_poll_at", sa.DateTime(timezone=True)),
    sa.Column("gone_at", sa.DateTime(timezone=True)),  # answered 410 Gone
    # the replica polling it now, and until when its claim holds (it may have died)
    sa.Column("lease_owner", sa.String(200)),
    sa.Column("lease_until", sa.DateTime(timezone=True)),
    # a hash of the last body read in full: the same body again is not parsed at all
    sa.Column("body_hash", sa.String(64)),
)
entries = sa.Table(
    "entries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("feed", sa.String(200), nullable=False),
    sa.Column("guid", sa.Text),
    sa.Column("link", sa.Text),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True)),
    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("text", sa.Text),
    sa.Column("from_page", sa.Boolean),
    sa.Column("story", sa.String(2048)),  # the story key, for alerted entries
    sa.Column("story_note", sa.Text),  # why it joined or opened its story (stories.describe)
)
entry_keys = sa.Table(
    "entry_keys",
    metadata,
    sa.Column("key", sa.String(2048), primary_key=True),
    sa.Column("entry_id", sa.Integer, sa.ForeignKey("entries.id"), nullable=False),
    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
)
alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("entry_id", sa.Integer, sa.ForeignKey("entries.id"), nullable=False),
    sa.Column("chat", sa.String(200), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # pending | sent | dead
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.Column("message_id", sa.String(100)),
    sa.Column("story", sa.String(2048)),
    sa.Column("kind", sa.String(20)),  # new | same | followup (stories.Kind)
    sa.Column("thread", sa.String(2048)),  # a follow-up: the story whose message it replies to
    sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
    # when it became due: later than created_at when held for quiet hours or a digest
    sa.Column("due_at", sa.DateTime(timezone=True)),
    sa.Column("via", sa.String(20)),  # message | digest: how it reached the chat
    sa.Column("attempted_at", sa.DateTime(timezone=True)),  # the last send started (claimed)
    # sends whose outcome was unknown (Telegram never answered): a retry may show it twice
    sa.Column("ambiguous", sa.Integer, nullable=False, server_default="0"),
    # a grouped message (a burst, a digest): its title and first item number, as JSON, so a
    # later report of one of its stories can rewrite it
    sa.Column("part", sa.Text),
    sa.UniqueConstraint("entry_id", "chat", name="one_alert_per_entry_and_chat"),
    sa.Index("alerts_by_status", "status", "id"),
)
chats = sa.Table(
    "chats",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("chat_id", sa.String(100), nullable=False),  # the id the state below is about
    sa.Column("moved_to", sa.String(100)),  # Telegram migrated the group to this supergroup
    sa.Column("disabled_at", sa.DateTime(timezone=True)),
    sa.Column("disabled_reason", sa.Text),
)


leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),  # delivery | bot
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("until", sa.DateTime(timezone=True), nullable=False),
)
mutes = sa.Table(
    "mutes",
    metadata,
    sa.Column("chat", sa.String(200), primary_key=True),
    sa.Column("topic", sa.String(200), primary_key=True),
    sa.Column("until", sa.DateTime(timezone=True), nullable=False),
    sa.Column("set_by", sa.String(200)),  # who muted it: "@name (user id)"; None before 10
)


# What analysts said of an alert with the buttons under it: one label per alert and user.
grades = sa.Table(
    "grades",
    metadata,
    sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id"), primary_key=True),
    sa.Column("user_id", sa.BigInteger, primary_key=True),
    sa.Column("chat", sa.String(200), nullable=False),
    sa.Column("label", sa.String(20), nullable=False),  # relevant | irrelevant
    sa.Column("graded_at", sa.DateTime(timezone=True), nullable=False),
)


heartbeats = sa.Table(
    "heartbeats",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
)
