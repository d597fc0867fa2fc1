"""The core's records (core/records.py) as the columns of the ledger's tables."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from enum import Enum
from typing import Any

from core.records import ConsentWrite, EventRecord, MessageRecord, OutboxRecord, ReviewRecord

Record = ConsentWrite | EventRecord | MessageRecord | ReviewRecord | OutboxRecord


_NAMES: dict[type, tuple[str, ...]] = {
    kind: tuple(f.name for f in fields(kind))
    for kind in (ConsentWrite, EventRecord, MessageRecord, ReviewRecord, OutboxRecord)
}


def row(record: Record) -> dict[str, Any]:
    """A record's fields by column name (they are named as the columns are), enums as values."""
    values = {name: getattr(record, name) for name in _NAMES[type(record)]}
    for name, value in values.items():
        if isinstance(value, Enum):
            values[name] = value.value
    return values


def review_row(review: ReviewRecord) -> dict[str, Any]:
    """A review item to open, in the state every new item starts in: open, undecided."""
    return {**row(review), "status": "open", "decision": None, "decided_by": None,
            "decided_at": None}  # fmt: skip


def outbox_row(reply: OutboxRecord) -> dict[str, Any]:
    """A reply to queue, in the state every new one starts in: pending, due at once."""
    return {**row(reply), "next_attempt_at": reply.created_at, "attempts": 0,
            "status": "pending", "claimed_at": None, "last_error": None,
            "finished_at": None}  # fmt: skip


def rows(records: Iterable[Record]) -> list[dict[str, Any]]:
    """Each record as its row."""
    return [row(record) for record in records]
