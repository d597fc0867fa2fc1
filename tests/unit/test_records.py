"""The core's records name exactly the columns the ledger stores them in."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

import pytest
from sqlalchemy import Table

from core.model import Action, Scope, Source, Status
from core.records import ConsentWrite, EventRecord, MessageRecord, ReviewRecord
from ledger.rows import review_row, row
from ledger.tables import consent, consent_events, inbound_messages, review_items


def _written(table: Table) -> set[str]:
    # Every column but an autoincrement key is bound by name when a record is inserted.
    return {c.name for c in table.columns if not (c.primary_key and c.autoincrement is True)}


@pytest.mark.parametrize(
    ("record", "table"),
    [
        (ConsentWrite, consent),
        (EventRecord, consent_events),
        (MessageRecord, inbound_messages),
    ],
    ids=["consent", "consent_events", "inbound_messages"],
)
def test_a_record_has_a_field_for_every_column(record: type, table: Table) -> None:
    assert {f.name for f in fields(record)} == _written(table)


def test_a_review_row_fills_every_column_and_starts_open() -> None:
    at = datetime(2026, 12, 8, tzinfo=UTC)
    review = ReviewRecord("+12065550100", None, "please stop", "stop", at, at, "twilio", "SM1")
    values = review_row(review)
    assert set(values) == _written(review_items)
    assert (values["status"], values["decision"], values["decided_by"]) == ("open", None, None)
    assert values["carrier_message_id"] == "SM1" and values["message_text"] == "please stop"


def test_enums_are_stored_as_their_values() -> None:
    at = datetime(2026, 12, 8, tzinfo=UTC)
    write = ConsentWrite(
        "+12065550100", "*", Status.OPTED_OUT, Source.AGENT, "U1", at, "r", None, None, None
    )
    values = row(write)
    assert type(values["status"]) is str and values["status"] == "opted_out"
    assert type(values["source"]) is str and values["source"] == "agent"
    event = EventRecord(
        at, "+12065550100", None, Scope.ACCOUNT, Action.OPT_OUT, None, Status.OPTED_OUT,
        Source.AGENT, "U1", None, None, "r", "v1", None, None, None, None, None,
    )  # fmt: skip
    stored = row(event)
    assert (type(stored["scope"]), stored["action"], stored["previous_status"]) == (
        str, "opt_out", None,
    )  # fmt: skip
