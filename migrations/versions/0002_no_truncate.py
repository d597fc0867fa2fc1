"""The event log refuses TRUNCATE too (PostgreSQL; SQLite has no TRUNCATE and its DELETE is caught).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Row triggers do not fire on TRUNCATE: add a statement trigger that refuses it."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE TRIGGER consent_events_no_truncate BEFORE TRUNCATE ON consent_events "
        "FOR EACH STATEMENT EXECUTE FUNCTION consent_events_append_only()"
    )


def downgrade() -> None:
    """Drop the TRUNCATE guard."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS consent_events_no_truncate ON consent_events")
