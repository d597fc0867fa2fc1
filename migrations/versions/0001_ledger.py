"""The consent ledger: contacts, consent rows, the append-only event log, messages, reviews.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ledger.tables import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_APPEND_ONLY = "consent_events is append-only: events are never updated or deleted"


def upgrade() -> None:
    """Create the ledger and make the event log refuse UPDATE and DELETE."""
    op.create_table(
        "contacts",
        sa.Column("phone", sa.String(20), primary_key=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "consent",
        sa.Column("contact", sa.String(20), primary_key=True),
        sa.Column("scope_key", sa.String(20), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16)),
        sa.Column("actor", sa.String(200)),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.Column("rule", sa.String(200)),
        sa.Column("keyword", sa.String(200)),
        sa.Column("message_text", sa.Text()),
        sa.Column("reason", sa.Text()),
    )
    op.create_index("ix_consent_scope_status", "consent", ["scope_key", "status"])
    op.create_index("ix_consent_status_since", "consent", ["status", "since"])
    op.create_table(
        "consent_events",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("contact", sa.String(20), nullable=False),
        sa.Column("sender", sa.String(20)),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("action", sa.String(24), nullable=False),
        sa.Column("previous_status", sa.String(16)),
        sa.Column("new_status", sa.String(16)),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("message_text", sa.Text()),
        sa.Column("keyword", sa.String(200)),
        sa.Column("rule", sa.String(200)),
        sa.Column("rules_version", sa.String(64)),
        sa.Column("carrier", sa.String(32)),
        sa.Column("carrier_message_id", sa.String(64)),
        sa.Column("reason", sa.Text()),
    )
    op.create_index("ix_events_contact", "consent_events", ["contact", "id"])
    op.create_table(
        "inbound_messages",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("carrier", sa.String(32), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("contact", sa.String(20), nullable=False),
        sa.Column("sender", sa.String(20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("transition", sa.String(16), nullable=False),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("reply", sa.Text()),
        sa.UniqueConstraint("carrier", "message_id", name="uq_inbound_carrier_message"),
    )
    op.create_table(
        "review_items",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("contact", sa.String(20), nullable=False),
        sa.Column("sender", sa.String(20)),
        sa.Column("message_text", sa.Text(), nullable=False),
        sa.Column("phrase", sa.String(200)),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("deadline", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decision", sa.String(16)),
        sa.Column("decided_by", sa.String(200)),
        sa.Column("decided_at", UTCDateTime()),
        sa.Column("carrier", sa.String(32)),
        sa.Column("carrier_message_id", sa.String(64)),
    )
    op.create_index("ix_reviews_status_contact", "review_items", ["status", "contact"])
    _append_only_triggers()


def _append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION consent_events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER consent_events_append_only BEFORE UPDATE OR DELETE ON consent_events "
            "FOR EACH ROW EXECUTE FUNCTION consent_events_append_only()"
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER consent_events_no_{verb.lower()} BEFORE {verb} ON consent_events "
            f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
        )


def downgrade() -> None:
    """Drop the ledger (this destroys the audit trail; only for development databases)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS consent_events_append_only ON consent_events")
        op.execute("DROP FUNCTION IF EXISTS consent_events_append_only()")
    for table in ("review_items", "inbound_messages", "consent_events", "consent", "contacts"):
        op.drop_table(table)
