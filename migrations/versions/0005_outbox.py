"""The outbox: replies stopline sends through a carrier's messaging API, one per text.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ledger.tables import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the outbox table, its one-reply-per-text key and its due-replies index."""
    op.create_table(
        "outbox",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("carrier", sa.String(32), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("sender", sa.Text(), nullable=False),
        sa.Column("contact", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("carrier", "message_id", name="uq_outbox_carrier_message"),
    )
    op.create_index("ix_outbox_status_due", "outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    """Drop the outbox (replies still queued are lost; the decisions stay in the log)."""
    op.drop_index("ix_outbox_status_due", table_name="outbox")
    op.drop_table("outbox")
