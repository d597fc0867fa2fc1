"""The core's Outbox port: claiming queued replies, and recording what became of each.

A claim marks rows `sending` in the statement that takes them (PostgreSQL: FOR UPDATE SKIP
LOCKED, so two workers or two instances never take one row; SQLite: BEGIN IMMEDIATE
serialises the writers). Every later change names the attempt it belongs to.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update

from core.records import OutboxItem
from ledger.db import Database
from ledger.tables import outbox

_ITEM = ("id", "carrier", "message_id", "sender", "contact", "text", "created_at", "attempts")


def _due(now: datetime, lease_seconds: float) -> ColumnElement[bool]:
    # A row left `sending` by a process killed mid-send is taken again once its lease ran out.
    stale = now - timedelta(seconds=lease_seconds)
    return or_(
        and_(outbox.c.status == "pending", outbox.c.next_attempt_at <= now),
        and_(outbox.c.status == "sending", outbox.c.claimed_at <= stale),
    )


def _item(row: Any) -> OutboxItem:
    values = dict(row._mapping)
    return OutboxItem(values["carrier"], values["message_id"], values["sender"],
                      values["contact"], values["text"], values["created_at"],
                      id=int(values["id"]), attempts=int(values["attempts"]))  # fmt: skip


class SqlOutbox:
    """The Outbox port on the ledger's database (SQLite or PostgreSQL)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def claim(self, now: datetime, lease_seconds: float, limit: int) -> list[OutboxItem]:
        """Take the due replies, oldest due first, and mark them sending (one more attempt)."""
        due = _due(now, lease_seconds)
        with self.database.write() as conn:
            query = select(outbox.c.id).where(due).order_by(outbox.c.next_attempt_at, outbox.c.id)
            query = query.limit(limit)
            if self.database.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            ids = list(conn.execute(query).scalars())
            if not ids:
                return []
            taken = conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(ids), due)
                .values(status="sending", claimed_at=now, attempts=outbox.c.attempts + 1)
                .returning(*(outbox.c[name] for name in _ITEM))
            )
            return sorted((_item(row) for row in taken), key=lambda item: item.id)

    def mark_sent(self, item: OutboxItem, at: datetime) -> bool:
        """Record that the carrier took the reply; False when the claim was lost."""
        return self._finish(item, status="sent", finished_at=at)

    def reschedule(self, item: OutboxItem, at: datetime, error: str) -> bool:
        """Put the reply back as pending, due at `at`; False when the claim was lost."""
        return self._finish(item, status="pending", next_attempt_at=at, last_error=error)

    def drop(self, item: OutboxItem, at: datetime, reason: str) -> bool:
        """Give the reply up for good, recording why; False when the claim was lost."""
        return self._finish(item, status="dropped", finished_at=at, last_error=reason)

    def find(self, carrier: str, message_id: str) -> dict[str, Any] | None:
        """The outbox row of the reply to one text, as stored (for operators and tests)."""
        query = select(outbox).where(outbox.c.carrier == carrier, outbox.c.message_id == message_id)
        with self.database.read() as conn:
            row = conn.execute(query).first()
        return dict(row._mapping) if row is not None else None

    def _finish(self, item: OutboxItem, **values: Any) -> bool:
        # Only the attempt that holds the claim may change the row: a worker whose lease ran
        # out (and whose row another worker took) changes nothing.
        with self.database.write() as conn:
            done = conn.execute(
                update(outbox)
                .where(
                    outbox.c.id == item.id,
                    outbox.c.status == "sending",
                    outbox.c.attempts == item.attempts,
                )
                .values(**values)
            )
            return bool(done.rowcount == 1)
