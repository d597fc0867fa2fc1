"""The outbox's policy, as pure functions: when to try a reply again, and when to give it up.

The FCC allows one confirmation per opt-out, sent promptly: a reply not delivered within
WINDOW of the decision is dropped (and the drop recorded), never sent late.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.model import Reply
from core.ports import SendFailed
from core.records import OutboxItem

WINDOW = timedelta(minutes=5)
FIRST_WAIT = 1.0  # seconds before the first retry; doubled on each failure
MAX_WAIT = 60.0
LATE = "not sent within 5 minutes of the decision (never sent late)"


@dataclass(frozen=True, slots=True)
class Retry:
    """Try again at `at`."""

    at: datetime
    error: str


@dataclass(frozen=True, slots=True)
class Drop:
    """Give the reply up, for `reason`."""

    reason: str


def deadline(created_at: datetime) -> datetime:
    """The last moment a reply decided at `created_at` may still be sent."""
    return created_at + WINDOW


def too_late(created_at: datetime, now: datetime) -> bool:
    """True when the sending window has passed (checked before every attempt)."""
    return now >= deadline(created_at)


def backoff(attempts: int) -> float:
    """Seconds to wait after the `attempts`-th failed attempt: 1, 2, 4, 8 … capped at MAX_WAIT."""
    return min(MAX_WAIT, FIRST_WAIT * 2 ** max(0, attempts - 1))


def after_failure(item: OutboxItem, failure: SendFailed, now: datetime) -> Retry | Drop:
    """What to do with a reply whose attempt failed: retry later, or drop it now."""
    if not failure.retry:
        return Drop(f"refused by {item.carrier}: {failure.detail}")
    wait = backoff(item.attempts)
    if failure.retry_after is not None and failure.retry_after > wait:
        wait = failure.retry_after  # the carrier's own Retry-After (429) is honoured
    at = now + timedelta(seconds=wait)
    if at >= deadline(item.created_at):
        return Drop(f"{LATE}; last error: {failure.detail}")
    return Retry(at, failure.detail)


def idempotency_key(carrier: str, message_id: str) -> str:
    """The same key on every attempt at the reply to one text, for carriers that take one."""
    digest = hashlib.sha256(f"{carrier}\n{message_id}".encode()).hexdigest()
    return f"stopline-{digest[:32]}"


def reply_of(item: OutboxItem) -> Reply:
    """The Reply a ReplySender sends for a claimed item."""
    return Reply(item.id, item.carrier, item.sender, item.contact, item.text,
                 idempotency_key(item.carrier, item.message_id))  # fmt: skip
