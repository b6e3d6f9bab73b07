"""The `feeds` table: each feed's validators, errors, next poll, and the replica polling it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.store.engine import Database, upserting, utc
from monitor.store.schema import feeds


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the database remembers about one feed."""

    name: str
    url: str
    etag: str | None
    last_modified: str | None
    first_polled_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    consecutive_errors: int
    poll_url: str | None = None
    next_poll_at: datetime | None = None
    gone_at: datetime | None = None
    lease_owner: str | None = None  # the replica polling it now
    lease_until: datetime | None = None
    body_hash: str | None = None  # of the last body read in full


@dataclass(frozen=True, slots=True)
class Unchanged:
    """A poll the server answered 304 Not Modified: the feed is well and polled again later."""

    name: str
    url: str
    at: datetime
    next_poll_at: datetime | None


_UNCHANGED = (
    feeds.update()
    .where(feeds.c.name == sa.bindparam("b_name"))
    .values(
        url=sa.bindparam("b_url"),
        last_success_at=sa.bindparam("b_at"),
        next_poll_at=sa.bindparam("b_next"),
        consecutive_errors=0,
        last_error=None,
        gone_at=None,
        lease_owner=None,
        lease_until=None,
    )
)


@dataclass(frozen=True, slots=True)
class Polled:
    """What a successful poll learned about its feed."""

    url: str
    validators: tuple[str | None, str | None] | None  # (ETag, Last-Modified), when a body came
    at: datetime
    next_poll_at: datetime | None = None
    poll_url: str | None = None  # where a permanent redirect moved the feed
    body_hash: str | None = None


class Feeds:
    """Feeds and their schedule: what each poll learned, and who may poll next."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def state(self, name: str) -> FeedState | None:
        """Return what is known about feed `name`, or None before its first poll."""
        with self.db.read() as conn:
            row = conn.execute(sa.select(feeds).where(feeds.c.name == name)).mappings().first()
        return _feed_state(row) if row is not None else None

    def states(self) -> list[FeedState]:
        """Return what is known about every feed ever polled, by name."""
        with self.db.read() as conn:
            rows = conn.execute(sa.select(feeds).order_by(feeds.c.name)).mappings().all()
        return [_feed_state(row) for row in rows]

    def forget_location(self, name: str, url: str) -> None:
        """The operator changed a feed's URL: drop where it moved, its validators, and `gone`."""
        with self.db.write() as conn:
            conn.execute(
                feeds.update()
                .where(feeds.c.name == name)
                .values(
                    url=url,
                    poll_url=None,
                    etag=None,
                    last_modified=None,
                    gone_at=None,
                    next_poll_at=None,
                    body_hash=None,
                )
            )

    def polled(
        self,
        name: str,
        url: str,
        validators: tuple[str | None, str | None] | None,
        now: datetime,
        *,
        next_poll_at: datetime | None = None,
        poll_url: str | None = None,
        body_hash: str | None = None,
    ) -> None:
        """Record a successful poll (and new validators and the body's hash, when the server
        sent a body)."""
        poll = Polled(url, validators, now, next_poll_at, poll_url, body_hash)
        with self.db.write() as conn:
            conn.execute(polled_upsert(conn, name, poll))

    def unchanged(self, polls: Sequence[Unchanged]) -> None:
        """Record polls answered 304 Not Modified, all in one transaction.

        Only the feed's schedule and health change, so one prepared UPDATE serves every feed
        (a 304 answers validators this row gave, so the row exists).
        """
        if not polls:
            return
        rows = [
            {"b_name": p.name, "b_url": p.url, "b_at": p.at, "b_next": p.next_poll_at}
            for p in polls
        ]
        with self.db.write() as conn:
            conn.execute(_UNCHANGED, rows)

    def failed(
        self,
        name: str,
        url: str,
        error: str,
        now: datetime,
        *,
        next_poll_at: datetime | None = None,
        gone: bool = False,
    ) -> None:
        """Record a failed poll with its reason, and when to try again."""
        values: dict[str, Any] = {
            "url": url,
            "last_error_at": now,
            "last_error": error,
            "consecutive_errors": feeds.c.consecutive_errors + 1,
            "next_poll_at": next_poll_at,
            "lease_owner": None,
            "lease_until": None,
        }
        if gone:
            values["gone_at"] = now
        with self.db.write() as conn:
            upsert(conn, name, values, now)

    def claim(
        self, name: str, url: str, owner: str, now: datetime, until: datetime, force: bool = False
    ) -> FeedState | None:
        """Claim the next poll of feed `name` for `owner` until `until`; return the feed's
        state when the poll is ours, None when it is not (not due, or claimed by another).
        `force` claims it due or not (an operator asked to poll now), never from another.

        A compare-and-set: the row is updated only while the feed is due and nobody else holds
        an unexpired claim, so of several replicas exactly one wins (PostgreSQL re-checks the
        condition after a concurrent update commits; SQLite has one writer). A replica that
        dies keeps its claim only until `until`. Recording the poll releases the claim.
        """
        free = sa.or_(
            feeds.c.lease_until.is_(None), feeds.c.lease_until <= now, feeds.c.lease_owner == owner
        )
        due = sa.or_(feeds.c.next_poll_at.is_(None), feeds.c.next_poll_at <= now)
        with self.db.write() as conn:
            # One statement: a feed never polled is inserted claimed; a known one is claimed
            # only where the condition holds (PostgreSQL checks it on the row as committed).
            claiming = (
                upserting(conn, feeds)
                .values(
                    name=name, url=url, consecutive_errors=0, lease_owner=owner, lease_until=until
                )
                .on_conflict_do_update(
                    index_elements=[feeds.c.name],
                    set_={"lease_owner": owner, "lease_until": until},
                    where=free if force else sa.and_(free, due),
                )
                .returning(*feeds.c)
            )
            row = conn.execute(claiming).mappings().first()
        return _feed_state(row) if row is not None else None


def polled_upsert(conn: Connection, name: str, poll: Polled) -> sa.Insert:
    """The statement that records a successful poll of feed `name` (a first one inserts it)."""
    values: dict[str, Any] = {
        "url": poll.url,
        "last_success_at": poll.at,
        "consecutive_errors": 0,
        "last_error": None,
        "gone_at": None,
        "next_poll_at": poll.next_poll_at,
        "lease_owner": None,
        "lease_until": None,
    }
    if poll.validators is not None:
        values["etag"], values["last_modified"] = poll.validators
    if poll.poll_url is not None:
        values["poll_url"] = poll.poll_url
    if poll.body_hash is not None:
        values["body_hash"] = poll.body_hash
    return (
        upserting(conn, feeds)
        .values(name=name, first_polled_at=poll.at, **values)
        .on_conflict_do_update(index_elements=[feeds.c.name], set_=values)
    )


def upsert(conn: Connection, name: str, values: dict[str, Any], now: datetime) -> None:
    """Update feed `name` with `values`, or insert it as first polled at `now`."""
    updated = conn.execute(feeds.update().where(feeds.c.name == name).values(**values))
    if updated.rowcount == 0:
        fresh = {k: v for k, v in values.items() if k != "consecutive_errors"}
        errors = 1 if "last_error_at" in values else 0
        conn.execute(
            feeds.insert().values(
                name=name, first_polled_at=now, consecutive_errors=errors, **fresh
            )
        )


def _feed_state(row: Any) -> FeedState:
    return FeedState(
        name=row["name"],
        url=row["url"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        first_polled_at=utc(row["first_polled_at"]),
        last_success_at=utc(row["last_success_at"]),
        last_error_at=utc(row["last_error_at"]),
        last_error=row["last_error"],
        consecutive_errors=row["consecutive_errors"],
        poll_url=row["poll_url"],
        next_poll_at=utc(row["next_poll_at"]),
        gone_at=utc(row["gone_at"]),
        lease_owner=row["lease_owner"],
        lease_until=utc(row["lease_until"]),
        body_hash=row["body_hash"],
    )
