"""One poll written in one transaction: the feed's state, and under the story lock its new
entries with their keys and alerts.

Story assignment is serialised across replicas (a PostgreSQL advisory lock held until the
transaction ends), so each replica places an article knowing every article placed before it.
Taking the lock also reads the last entry id PostgreSQL handed out: when no other replica has
stored an entry since this one last held the lock, its story index is current and the caller
need not read the database for news (`others_wrote`).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.store.engine import STORY_LOCK_KEY, Database
from monitor.store.entries import Entries


class Recording:
    """The entities a poll writes, inside its transaction."""

    def __init__(self, db: Database, others_wrote: bool) -> None:
        self.entries = Entries(db)
        # Other replicas may have stored entries since this process last held the story lock.
        self.others_wrote = others_wrote
        self.written: set[int] = set()  # ids of the entries written; pass to entries.record


def lock_stories(conn: Connection, feed_state: sa.Insert) -> int | None:
    """Write the feed's state, and on PostgreSQL take the story lock in the same statement;
    return the last entry id handed out (None on SQLite, or before the first entry).

    The lock is taken in a subquery the planner keeps apart (OFFSET 0), so the sequence is
    read after it is held; the sequence is not transactional, so it shows every id handed
    out, committed or not. All entries are written under this lock, so none is in flight.
    """
    if conn.dialect.name != "postgresql":
        conn.execute(feed_state)
        return None
    from sqlalchemy.dialects.postgresql import REGCLASS  # only here: SQLite never loads it

    locked = (
        sa.select(sa.func.pg_advisory_xact_lock(STORY_LOCK_KEY).label("held"))
        .offset(0)
        .subquery("locked")
    )
    sequence = sa.cast(sa.func.pg_get_serial_sequence("entries", "id"), REGCLASS)
    last_id = (
        sa.select(sa.func.pg_sequence_last_value(sequence))
        .select_from(locked)
        .add_cte(feed_state.cte("feed_state"))
    )
    value = conn.scalar(last_id)
    return int(value) if value is not None else None
