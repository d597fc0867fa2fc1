"""A carrier's numbers as it wrote them, next to the ledger's keys (E.164 when there is one).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TABLES = ("inbound_messages", "consent_events")
_COLUMNS = ("contact_received", "sender_received")


def upgrade() -> None:
    """Add contact_received and sender_received (nullable text) to messages and events."""
    # ADD COLUMN of a nullable column: no table rewrite on either database, and the events'
    # append-only triggers (row UPDATE/DELETE, TRUNCATE) are untouched.
    for table in _TABLES:
        for column in _COLUMNS:
            op.add_column(table, sa.Column(column, sa.Text(), nullable=True))


def downgrade() -> None:
    """Drop the as-received columns."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in _TABLES:
        for column in _COLUMNS:
            if sqlite:
                # SQLite 3.35+ drops a column in place; Alembic's batch mode would copy the
                # table and lose the events' append-only triggers.
                op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
            else:
                op.drop_column(table, column)
