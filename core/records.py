"""What a decision writes, as typed records: a consent row, an event, a review item, a message.

The core builds them (core/planning.py, core/services.py); the ledger turns each into the
columns of its table (ledger/rows.py), their fields named as those columns are, and reads
the log back as ConsentEvents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core.model import (
    Action,
    DeliveryStatus,
    InboundMessage,
    Outcome,
    Scope,
    Source,
    Status,
    Transition,
)


@dataclass(slots=True)
class ConsentWrite:
    """A contact's consent in one scope as it is to be stored (inserted or replacing the row)."""

    contact: str
    scope_key: str  # the sender's number, or core.model.ACCOUNT
    status: Status
    source: Source
    actor: str
    since: datetime
    rule: str | None
    keyword: str | None
    message_text: str | None
    reason: str | None

    @classmethod
    def left_by(cls, event: EventRecord, scope_key: str, status: Status) -> ConsentWrite:
        """The row an opt-out or opt-in leaves: who, when, which rule and why, as its event says."""
        return cls(event.contact, scope_key, status, event.source, event.actor, event.at,
                   event.rule, event.keyword, event.message_text, event.reason)  # fmt: skip


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One entry of the append-only log, as it is to be stored."""

    at: datetime
    contact: str
    sender: str | None
    scope: Scope
    action: Action
    previous_status: Status | None
    new_status: Status | None
    source: Source
    actor: str
    message_text: str | None
    keyword: str | None
    rule: str | None  # None only in events stored before rules were recorded
    rules_version: str | None
    carrier: str | None
    carrier_message_id: str | None
    reason: str | None
    contact_received: str | None = None  # the numbers as a carrier wrote them
    sender_received: str | None = None


@dataclass(frozen=True, slots=True)
class ConsentEvent(EventRecord):
    """One line of the append-only ledger as stored: the event and its place in the log."""

    id: int = field(kw_only=True)


@dataclass(frozen=True, slots=True)
class ReviewRecord:
    """A review item to open: a possible opt-out in plain words and its FCC deadline."""

    contact: str
    sender: str | None
    message_text: str
    phrase: str | None
    opened_at: datetime
    deadline: datetime
    carrier: str | None
    carrier_message_id: str | None


@dataclass(frozen=True, slots=True)
class ReviewItem(ReviewRecord):
    """A possible opt-out in plain words as stored: open, or decided by an agent."""

    status: str
    decision: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    id: int = field(kw_only=True)


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """A carrier's message as handled, and the answer given (what a retry of it is told)."""

    carrier: str
    message_id: str
    contact: str
    sender: str
    contact_received: str
    sender_received: str
    body: str
    received_at: datetime
    transition: Transition
    rule: str
    reply: str | None

    @classmethod
    def answered(
        cls, message: InboundMessage, contact: str, sender: str, outcome: Outcome
    ) -> MessageRecord:
        """A message as received (its numbers' keys beside them), and the answer it got."""
        decided = outcome.decision
        return cls(message.carrier, message.message_id, contact, sender, message.contact,
                   message.sender, message.body, message.received_at, decided.transition,
                   decided.rule, outcome.reply)  # fmt: skip

    @classmethod
    def reported(
        cls, status: DeliveryStatus, contact: str, sender: str, outcome: Outcome
    ) -> MessageRecord:
        """A carrier's opted-out report on a sent message, so that its retries are known."""
        decided = outcome.decision
        return cls(status.carrier, status.message_id, contact, sender, status.contact,
                   status.sender, "", status.received_at, decided.transition, decided.rule,
                   None)  # fmt: skip


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """A reply to send through a carrier's messaging API, queued with the decision that made it.

    `message_id` is the carrier's id of the text it answers (one reply per text); `sender`
    and `contact` are the numbers as the carrier wrote them, so the reply goes back the way
    the text came; `created_at` is the decision's time, from which the sending window runs.
    """

    carrier: str
    message_id: str
    sender: str
    contact: str
    text: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OutboxItem(OutboxRecord):
    """A queued reply as a worker claimed it: its row id and its attempts, this one included."""

    id: int = field(kw_only=True)
    attempts: int = field(kw_only=True)
