"""A contact locked elsewhere for too long is a clear 'try again', never a hang past the carrier."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text

from core.errors import DatabaseUnavailable
from core.model import Actor, InboundMessage, Source
from core.services import ConsentService
from ledger.adapter import SqlLedger
from ledger.db import Database
from tests.fakes import TextDecider

CONTACT = "+12065550177"


def test_a_held_lock_ends_in_database_unavailable(
    database_url: str, databases: Callable[..., Database]
) -> None:
    database = databases(database_url, busy_timeout_ms=1000)
    service = ConsentService(SqlLedger(database), TextDecider())
    service.opt_out(CONTACT, None, Actor(Source.AGENT, "U1"))  # the contact's row exists
    sid = "SM" + "1" * 32
    message = InboundMessage("twilio", sid, CONTACT, "+12065550199", "STOP", datetime.now(UTC))
    other = create_engine(database_url)
    with other.connect() as holder:
        if database.dialect == "sqlite":
            holder.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            holder.execute(
                text("SELECT phone FROM contacts WHERE phone = :p FOR UPDATE"), {"p": CONTACT}
            )
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable):
            service.receive_message(message)
        waited = time.monotonic() - started
        holder.rollback()
    assert 0.5 < waited < 6, waited
    # The lock gone, the carrier's retry goes through: nothing was half-stored before.
    first = service.receive_message(message)
    assert not first.duplicate and first.changed
    assert service.receive_message(message).duplicate
    other.dispose()
    database.dispose()
