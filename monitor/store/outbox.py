"""The alert outbox (`alerts` rows still in play): what waits, each send's claim and outcome.

An alert is queued with its entry (`entries.py`), in the same transaction. Delivery reads what
is due, claims an attempt before it sends (so nothing goes out unrecorded), then marks the
alerts sent, failed (to retry, or dead), held for a digest or quiet hours, or muted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime

import sqlalchemy as sa

from monitor.models import Alert, Span
from monitor.store.engine import Database, utc
from monitor.store.schema import alerts


@dataclass(frozen=True, slots=True)
class PendingAlert:
    """An alert in the outbox, waiting to be delivered."""

    id: int
    alert: Alert
    attempts: int
    created_at: datetime
    story: str | None = None
    kind: str = "new"
    due_at: datetime | None = None  # when its hold (quiet hours, digest) ended, if it had one
    thread: str | None = None  # a follow-up: the story whose message it replies to


@dataclass(slots=True)
class PendingChat:
    """What waits in the outbox for one chat."""

    chat: str
    count: int = 0
    held: int = 0  # held back for a digest or quiet hours, not failed
    next_try: datetime | None = None
    last_error: str | None = None
    retries: list[datetime] = field(default_factory=list)  # when failed alerts are tried again


class Outbox:
    """The queue of alerts to deliver, and the record of every delivery attempt."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def pending(self, now: datetime, limit: int = 500) -> list[PendingAlert]:
        """Return undelivered alerts whose next attempt is due, oldest first."""
        due = sa.or_(alerts.c.next_attempt_at.is_(None), alerts.c.next_attempt_at <= now)
        # A chat's alerts keep their order: none goes out while an older one waits for a retry
        # (a hold for a digest or quiet hours is no retry and blocks nothing).
        earlier = alerts.alias("earlier")
        waiting_before = (
            sa.select(earlier.c.id)
            .where(
                earlier.c.chat == alerts.c.chat,
                earlier.c.status == "pending",
                earlier.c.id < alerts.c.id,
                earlier.c.attempts > 0,
                earlier.c.next_attempt_at > now,
            )
            .exists()
        )
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(
                    alerts.c.id,
                    alerts.c.payload,
                    alerts.c.attempts,
                    alerts.c.created_at,
                    alerts.c.story,
                    alerts.c.kind,
                    alerts.c.due_at,
                    alerts.c.thread,
                )
                .where(alerts.c.status == "pending", due, ~waiting_before)
                .order_by(alerts.c.id)
                .limit(limit)
            ).all()
        return [
            PendingAlert(
                row.id,
                load_alert(row.payload),
                row.attempts,
                utc(row.created_at) or now,
                row.story,
                row.kind or "new",
                utc(row.due_at),
                row.thread,
            )
            for row in rows
        ]

    def claim_attempt(self, alert_ids: Sequence[int], now: datetime) -> None:
        """Record that a send of these alerts starts now; nothing may be sent unless this holds.

        Raises `StoreUnavailable` when the database refuses the write, so an alert never goes
        out while its outcome could not be recorded.
        """
        with self.db.write() as conn:
            conn.execute(
                alerts.update()
                .where(alerts.c.id.in_(list(alert_ids)))
                .values(attempts=alerts.c.attempts + 1, attempted_at=now)
            )

    def mark_sent(
        self,
        alert_ids: int | Sequence[int],
        message_id: str | None,
        now: datetime,
        via: str = "message",
        part: str | None = None,
    ) -> None:
        """Record that alerts reached their chat: as a message, an edit, in a digest or a group.

        `part` describes the grouped message they are in (see `Alerts.in_message`).
        """
        ids = [alert_ids] if isinstance(alert_ids, int) else list(alert_ids)
        with self.db.write() as conn:
            conn.execute(
                alerts.update()
                .where(alerts.c.id.in_(ids))
                .values(
                    status="sent",
                    sent_at=now,
                    message_id=message_id,
                    next_attempt_at=None,
                    via=via,
                    part=part,
                )
            )

    def mark_attempt_failed(
        self,
        alert_ids: int | Sequence[int],
        error: str,
        retry_at: datetime | None,
        ambiguous: bool = False,
    ) -> None:
        """Record a failed delivery: try again at `retry_at`, or never (`dead`) when None.

        `ambiguous`: Telegram may have received it (no answer came), so a retry may repeat it.
        """
        ids = [alert_ids] if isinstance(alert_ids, int) else list(alert_ids)
        with self.db.write() as conn:
            conn.execute(
                alerts.update()
                .where(alerts.c.id.in_(ids))
                .values(
                    ambiguous=alerts.c.ambiguous + int(ambiguous),
                    last_error=error,
                    status="dead" if retry_at is None else "pending",
                    next_attempt_at=retry_at,
                )
            )

    def hold(self, alert_ids: Sequence[int], until: datetime) -> None:
        """Keep pending alerts back until `until` (quiet hours, a digest's time); no attempt."""
        with self.db.write() as conn:
            conn.execute(
                alerts.update()
                .where(alerts.c.id.in_(list(alert_ids)), alerts.c.status == "pending")
                .values(next_attempt_at=until, due_at=until)
            )

    def mark_muted(self, alert_ids: Sequence[int]) -> None:
        """Record that alerts were not sent because their topics were muted in their chat."""
        with self.db.write() as conn:
            conn.execute(
                alerts.update()
                .where(alerts.c.id.in_(list(alert_ids)), alerts.c.status == "pending")
                .values(status="muted", next_attempt_at=None)
            )

    def expire_pending(self, due_before: datetime) -> int:
        """Mark alerts undelivered since they fell due before `due_before` as dead; count them.

        An alert falls due when created, or when its hold (quiet hours, digest) ends.
        """
        due = sa.func.coalesce(alerts.c.due_at, alerts.c.created_at)
        with self.db.write() as conn:
            result = conn.execute(
                alerts.update()
                .where(alerts.c.status == "pending", due < due_before)
                .values(
                    status="dead",
                    last_error=sa.func.coalesce(alerts.c.last_error, "never attempted")
                    + " (gave up: undelivered too long)",
                )
            )
        return result.rowcount or 0

    def by_chat(self) -> list[PendingChat]:
        """Return, per chat, its pending alerts: how many, the next try, the last error."""
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(
                    alerts.c.chat,
                    alerts.c.next_attempt_at,
                    alerts.c.due_at,
                    alerts.c.last_error,
                    alerts.c.attempts,
                )
                .where(alerts.c.status == "pending")
                .order_by(alerts.c.id)
            ).all()
        found: dict[str, PendingChat] = {}
        for row in rows:
            chat = found.setdefault(row.chat, PendingChat(row.chat))
            chat.count += 1
            next_try = utc(row.next_attempt_at)
            if next_try is not None and row.attempts:
                chat.retries.append(next_try)
            if next_try is not None and (chat.next_try is None or next_try < chat.next_try):
                chat.next_try = next_try
            chat.held += row.due_at is not None and row.last_error is None
            chat.last_error = row.last_error or chat.last_error
        return list(found.values())

    def counts(self) -> dict[str, int]:
        """Return how many alerts are in each status."""
        with self.db.read() as conn:
            count = sa.func.count().label("n")
            query = sa.select(alerts.c.status, count).group_by(alerts.c.status)
            return {row.status: row.n for row in conn.execute(query)}

    def ambiguous(self) -> int:
        """Count alerts sent again after Telegram left a send unanswered (maybe shown twice)."""
        with self.db.read() as conn:
            query = sa.select(sa.func.count()).where(alerts.c.ambiguous > 0)
            return int(conn.execute(query).scalar_one())

    def dead(self, limit: int = 5) -> list[tuple[int, str, str, str | None]]:
        """Return the latest dead alerts as (id, chat, title, last error)."""
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(alerts.c.id, alerts.c.chat, alerts.c.payload, alerts.c.last_error)
                .where(alerts.c.status == "dead")
                .order_by(alerts.c.id.desc())
                .limit(limit)
            ).all()
        return [(row.id, row.chat, load_alert(row.payload).title, row.last_error) for row in rows]


def dump_alert(alert: Alert) -> str:
    """Return an alert as the JSON stored in `alerts.payload`."""
    data = asdict(alert)
    data["published"] = alert.published.isoformat() if alert.published else None
    return json.dumps(data, ensure_ascii=False)


def load_alert(payload: str) -> Alert:
    """Return the alert stored as `payload` (`dump_alert`)."""
    data = json.loads(payload)
    return Alert(
        chat=data["chat"],
        chat_id=data["chat_id"],
        title=data["title"],
        link=data["link"],
        outlet=data["outlet"],
        published=datetime.fromisoformat(data["published"]) if data["published"] else None,
        topics=tuple(data["topics"]),
        snippet=data["snippet"],
        highlights=tuple(Span(h["start"], h["end"]) for h in data["highlights"]),
        from_page=data["from_page"],
        blocked_by=data.get("blocked_by"),  # absent in alerts stored before it existed
    )
