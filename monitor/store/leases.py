"""Replicas sharing one database: leases (delivery, bot), giving up feed claims, and the
heartbeat that says the service's loop is alive. (The story lock is `recording.py`.)"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from monitor.store.engine import Database, insert_ignore, utc
from monitor.store.schema import feeds, heartbeats, leases


class Leases:
    """Who does which job among replicas, and for how long: a dead replica's hold expires."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def acquire(self, name: str, owner: str, now: datetime, until: datetime) -> bool:
        """Take or renew the lease `name` (delivery, bot) for `owner`; True while it is ours."""
        with self.db.write() as conn:
            insert_ignore(conn, leases, {"name": name, "owner": owner, "until": until})
            taken = conn.execute(
                leases.update()
                .where(
                    leases.c.name == name,
                    sa.or_(leases.c.owner == owner, leases.c.until <= now),
                )
                .values(owner=owner, until=until)
            )
        return bool(taken.rowcount)

    def holders(self, now: datetime) -> dict[str, str]:
        """Return who holds each unexpired lease: name -> owner."""
        with self.db.read() as conn:
            rows = conn.execute(sa.select(leases).where(leases.c.until > now)).all()
        return {row.name: row.owner for row in rows}

    def owners(self) -> set[str]:
        """Return everyone holding a feed claim or a lease, expired or not."""
        with self.db.read() as conn:
            owners: set[str] = set(conn.scalars(sa.select(leases.c.owner)))
            claims = sa.select(feeds.c.lease_owner).where(feeds.c.lease_owner.is_not(None))
            owners.update(str(row[0]) for row in conn.execute(claims))
        return owners

    def release_all(self, owner: str) -> None:
        """Give up every feed claim and lease `owner` holds (a clean shutdown)."""
        with self.db.write() as conn:
            conn.execute(
                feeds.update()
                .where(feeds.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )
            conn.execute(leases.delete().where(leases.c.owner == owner))


class Heartbeats:
    """When each loop last proved it is alive and can write to the database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def beat(self, now: datetime, name: str = "service") -> None:
        """Record that the service's loop is alive and can write to the database."""
        with self.db.write() as conn:
            updated = conn.execute(
                heartbeats.update().where(heartbeats.c.name == name).values(beat_at=now)
            )
            if updated.rowcount == 0:
                conn.execute(heartbeats.insert().values(name=name, beat_at=now))

    def last(self, name: str = "service") -> datetime | None:
        """Return when the service last recorded its heartbeat, if ever."""
        with self.db.read() as conn:
            value = conn.scalar(sa.select(heartbeats.c.beat_at).where(heartbeats.c.name == name))
        return utc(value)
