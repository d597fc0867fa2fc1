"""The ledger's tables (SQLAlchemy Core): consent rows, the event log, messages, reviews, outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always returned timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the ledger; use UTC-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = MetaData()
_id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only

contacts = Table(
    "contacts",
    metadata,
    Column("phone", String(20), primary_key=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

# One row per contact and scope: scope_key is the sender number, or "*" for the account.
consent = Table(
    "consent",
    metadata,
    Column("contact", String(20), primary_key=True),
    Column("scope_key", String(20), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("source", String(16), nullable=True),
    Column("actor", String(200), nullable=True),
    Column("since", UTCDateTime(), nullable=False),
    Column("rule", String(200), nullable=True),
    Column("keyword", String(200), nullable=True),
    Column("message_text", Text(), nullable=True),
    Column("reason", Text(), nullable=True),
    Index("ix_consent_scope_status", "scope_key", "status"),
    Index("ix_consent_status_since", "status", "since"),
)

consent_events = Table(
    "consent_events",
    metadata,
    Column("id", _id, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("contact", String(20), nullable=False),
    Column("sender", String(20), nullable=True),
    Column("scope", String(16), nullable=False),
    Column("action", String(24), nullable=False),
    Column("previous_status", String(16), nullable=True),
    Column("new_status", String(16), nullable=True),
    Column("source", String(16), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("message_text", Text(), nullable=True),
    Column("keyword", String(200), nullable=True),
    Column("rule", String(200), nullable=True),
    Column("rules_version", String(64), nullable=True),
    Column("carrier", String(32), nullable=True),
    Column("carrier_message_id", String(64), nullable=True),
    Column("reason", Text(), nullable=True),
    # A carrier's numbers as it wrote them (whatsapp:+1…, +999…), next to the keys above.
    Column("contact_received", Text(), nullable=True),
    Column("sender_received", Text(), nullable=True),
    Index("ix_events_contact", "contact", "id"),
)

inbound_messages = Table(
    "inbound_messages",
    metadata,
    Column("id", _id, primary_key=True, autoincrement=True),
    Column("carrier", String(32), nullable=False),
    Column("message_id", String(64), nullable=False),
    Column("contact", String(20), nullable=False),
    Column("sender", String(20), nullable=False),
    Column("body", Text(), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("transition", String(16), nullable=False),
    Column("rule", String(200), nullable=False),
    Column("reply", Text(), nullable=True),
    Column("contact_received", Text(), nullable=True),
    Column("sender_received", Text(), nullable=True),
    UniqueConstraint("carrier", "message_id", name="uq_inbound_carrier_message"),
)

review_items = Table(
    "review_items",
    metadata,
    Column("id", _id, primary_key=True, autoincrement=True),
    Column("contact", String(20), nullable=False),
    Column("sender", String(20), nullable=True),
    Column("message_text", Text(), nullable=False),
    Column("phrase", String(200), nullable=True),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("deadline", UTCDateTime(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("decision", String(16), nullable=True),
    Column("decided_by", String(200), nullable=True),
    Column("decided_at", UTCDateTime(), nullable=True),
    Column("carrier", String(32), nullable=True),
    Column("carrier_message_id", String(64), nullable=True),
    Index("ix_reviews_status_contact", "status", "contact"),
)

seen_requests = Table(
    "seen_requests",
    metadata,
    # A signed request's fingerprint (e.g. Slack's signature): seen once, refused after.
    Column("key", String(128), primary_key=True),
    Column("seen_at", UTCDateTime(), nullable=False),
    Index("ix_seen_requests_seen_at", "seen_at"),
)

# Replies stopline sends through a carrier's messaging API, written in the transaction of
# the decision that made them; one per text (UNIQUE carrier, message_id), so a carrier's
# retry of the text cannot queue a second. status: pending | sending | sent | dropped.
outbox = Table(
    "outbox",
    metadata,
    Column("id", _id, primary_key=True, autoincrement=True),
    Column("carrier", String(32), nullable=False),
    Column("message_id", String(64), nullable=False),
    Column("sender", Text(), nullable=False),  # as the carrier wrote them
    Column("contact", Text(), nullable=False),
    Column("text", Text(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("attempts", Integer(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("claimed_at", UTCDateTime(), nullable=True),
    Column("last_error", Text(), nullable=True),
    Column("finished_at", UTCDateTime(), nullable=True),
    UniqueConstraint("carrier", "message_id", name="uq_outbox_carrier_message"),
    Index("ix_outbox_status_due", "status", "next_attempt_at"),
)

# The columns an upsert of a consent row replaces (the key, contact and scope_key, stays):
# one list for the SQLAlchemy path (ledger.queries) and the raw-cursor path (ledger.cursor).
CONSENT_UPSERT_KEYS = (
    "status", "source", "actor", "since", "rule", "keyword", "message_text", "reason",
)  # fmt: skip
