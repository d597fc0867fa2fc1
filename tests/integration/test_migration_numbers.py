"""Migration 0004: the as-received numbers, added to a ledger that already holds events."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError

from core.config import Settings
from stopline.wiring import alembic_config, migrate

_EVENT = (
    "INSERT INTO consent_events (at, contact, sender, scope, action, source, actor) "
    "VALUES ('2026-12-01 00:00:00', '+12065550100', '+12065550199', 'sender', 'opt_out', "
    "'contact', 'twilio')"
)


def _columns(url: str, table: str) -> set[str]:
    engine = create_engine(url)
    try:
        return {c["name"] for c in inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def _downgrade(url: str, revision: str) -> None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            config = alembic_config(url)
            config.attributes["connection"] = conn
            command.downgrade(config, revision)
            conn.commit()
    finally:
        engine.dispose()


def test_0004_adds_the_as_received_columns_and_keeps_the_events_append_only(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    settings = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
    migrate(settings, "0003")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(_EVENT))
    migrate(settings)
    for table in ("inbound_messages", "consent_events"):
        assert {"contact_received", "sender_received"} <= _columns(url, table)
    with engine.connect() as conn:
        old = conn.execute(text("SELECT contact, contact_received FROM consent_events")).one()
        assert tuple(old) == ("+12065550100", None)
    _downgrade(url, "0003")
    assert "contact_received" not in _columns(url, "consent_events")
    with engine.begin() as conn, pytest.raises(DBAPIError):
        conn.execute(text("UPDATE consent_events SET actor = 'x'"))  # still append-only
    migrate(settings)
    assert "sender_received" in _columns(url, "inbound_messages")
    engine.dispose()
