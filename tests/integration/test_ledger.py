"""The service layer on a real ledger, run once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from core.errors import (
    Conflict,
    DatabaseUnavailable,
    InvalidInput,
    InvalidPhoneNumber,
    NotAllowed,
    NotFound,
)
from core.model import Action, Actor, InboundMessage, Scope, Source, Status
from core.services import ConsentService
from ledger.adapter import SqlLedger
from ledger.db import Database
from tests.fakes import FixedClock, TextDecider

CONTACT = "+12065550100"
SENDER = "+12065550199"
OTHER_SENDER = "+12065550198"
AGENT = Actor(Source.AGENT, "U0AGENT")
API = Actor(Source.API, "crm")
_ids = itertools.count(1)
RETRIED = "SM" + "7e" * 16  # a Twilio MessageSid sent twice
AUDITED = "SM" + "a0d1" * 8


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def service(database: Database, clock: FixedClock) -> ConsentService:
    return ConsentService(SqlLedger(database), TextDecider(), clock=clock)


def text_in(service: ConsentService, body: str, contact: str = CONTACT, sender: str = SENDER,
            sid: str | None = None):  # fmt: skip
    message = InboundMessage(
        carrier="twilio",
        message_id=sid or f"SM{next(_ids):032d}",
        contact=contact,
        sender=sender,
        body=body,
        received_at=datetime.now(UTC),
    )
    return service.receive_message(message)


def test_stop_covers_the_texted_number_only(service: ConsentService) -> None:
    outcome = text_in(service, "STOP")
    assert outcome.changed and outcome.reply == "Unsubscribed."
    assert not service.can_send(CONTACT, SENDER)
    assert service.can_send(CONTACT, OTHER_SENDER)
    status = service.status(CONTACT, SENDER)
    assert status.status is Status.OPTED_OUT
    assert status.opted_out_by is Source.CONTACT and status.scope is Scope.SENDER


def test_stopall_covers_the_account(service: ConsentService) -> None:
    text_in(service, "STOPALL")
    assert not service.can_send(CONTACT, SENDER)
    assert not service.can_send(CONTACT, OTHER_SENDER)
    assert service.status(CONTACT).scope is Scope.ACCOUNT


def test_a_retried_message_gets_the_same_answer_and_records_nothing_twice(
    service: ConsentService, database: Database
) -> None:
    first = text_in(service, "STOP", sid=RETRIED)
    again = text_in(service, "STOP", sid=RETRIED)
    assert again.duplicate and not again.changed
    assert again.reply == first.reply == "Unsubscribed."
    assert len(service.events(CONTACT)) == 1
    with database.read() as conn:
        count = conn.execute(text("SELECT count(*) FROM inbound_messages")).scalar_one()
    assert count == 1


def test_every_change_is_recorded_with_who_and_what(service: ConsentService) -> None:
    text_in(service, "STOP", sid=AUDITED)
    (event,) = service.events(CONTACT)
    assert event.action is Action.OPT_OUT
    assert (event.previous_status, event.new_status) == (Status.SUBSCRIBED, Status.OPTED_OUT)
    assert event.source is Source.CONTACT and event.actor == "twilio"
    assert event.message_text == "STOP" and event.keyword == "STOP"
    assert event.rule == "opt_out" and event.rules_version == "fake-rules-v1"
    assert (event.carrier, event.carrier_message_id) == ("twilio", AUDITED)
    assert event.sender == SENDER and event.scope is Scope.SENDER
    assert event.at.tzinfo is not None


def test_the_event_log_refuses_update_and_delete(
    service: ConsentService, database: Database
) -> None:
    text_in(service, "STOP")
    statements = ["UPDATE consent_events SET actor = 'x'", "DELETE FROM consent_events"]
    if database.dialect == "postgresql":
        statements.append("TRUNCATE consent_events")
    for statement in statements:
        with pytest.raises(Exception, match="append-only"), database.write() as conn:
            conn.execute(text(statement))
    assert len(service.events(CONTACT)) == 1


def test_an_agent_cannot_opt_in_a_contacts_own_opt_out(service: ConsentService) -> None:
    text_in(service, "STOP")
    # The fake rules would allow it; the core refuses anyway and records the refusal.
    with pytest.raises(NotAllowed, match="only the contact can re-subscribe"):
        service.opt_in(CONTACT, SENDER, AGENT, reason="customer called")
    assert not service.can_send(CONTACT, SENDER)
    refused = service.events(CONTACT)[0]
    assert refused.action is Action.REFUSED and refused.actor == AGENT.name
    assert "customer called" in (refused.reason or "")


def test_an_agent_may_opt_in_an_agents_opt_out(service: ConsentService) -> None:
    out = service.opt_out(CONTACT, None, AGENT, reason="asked on a call")
    assert out.changed and out.status.scope is Scope.ACCOUNT
    assert not service.can_send(CONTACT, OTHER_SENDER)
    back = service.opt_in(CONTACT, None, API)
    assert back.changed and service.can_send(CONTACT, OTHER_SENDER)
    actions = [(e.action, e.source) for e in service.events(CONTACT)]
    assert actions == [(Action.OPT_IN, Source.API), (Action.OPT_OUT, Source.AGENT)]


def test_the_contacts_start_lifts_the_number_and_the_account(service: ConsentService) -> None:
    text_in(service, "STOP")
    service.opt_out(CONTACT, None, AGENT)
    outcome = text_in(service, "START")
    assert outcome.changed and outcome.reply == "Welcome back."
    assert service.can_send(CONTACT, SENDER) and service.can_send(CONTACT, OTHER_SENDER)


def test_a_contacts_stop_replaces_an_agents_opt_out(service: ConsentService) -> None:
    service.opt_out(CONTACT, SENDER, AGENT)
    assert text_in(service, "STOP").changed
    with pytest.raises(NotAllowed):
        service.opt_in(CONTACT, SENDER, AGENT)


def test_a_review_item_has_a_deadline_and_one_decision(
    service: ConsentService, clock: FixedClock
) -> None:
    outcome = text_in(service, "please remove me from this")
    assert outcome.review_id is not None and not outcome.changed
    (item,) = service.reviews(CONTACT)
    # Received Thursday 26 Nov 2026 (Thanksgiving): 10 business days later is 10 Dec.
    assert item.deadline == clock.now.replace(day=10, month=12)
    assert service.can_send(CONTACT, SENDER)
    closed = service.decide_review(item.id, True, Actor(Source.AGENT, "U0FIRST"))
    assert closed.decided_by == "U0FIRST" and closed.decision == "opt_out"
    with pytest.raises(Conflict, match="U0FIRST"):
        service.decide_review(item.id, False, Actor(Source.AGENT, "U0SECOND"))
    assert not service.can_send(CONTACT, SENDER)
    assert service.status(CONTACT, SENDER).opted_out_by is Source.CONTACT
    assert service.reviews(CONTACT) == []
    with pytest.raises(NotFound):
        service.decide_review(999_999, True, AGENT)


def test_check_splits_and_deduplicates(service: ConsentService) -> None:
    text_in(service, "STOP")
    text_in(service, "STOPALL", contact="+12065550101", sender=OTHER_SENDER)
    result = service.check(
        SENDER,
        [CONTACT, "+1 (206) 555-0101", "206.555.0102", "+12065550102", "+1206001234", 42, ""],
    )
    assert result.suppressed == [CONTACT, "+12065550101"]
    assert result.sendable == ["+12065550102"]
    assert result.invalid == ["+1206001234", 42, ""]


def test_export_filters_and_neutralises_formulas(
    service: ConsentService, clock: FixedClock
) -> None:
    service.opt_out(CONTACT, SENDER, AGENT, reason='=HYPERLINK("http://x")')
    clock.now += timedelta(days=2)
    service.opt_out("+12065550101", OTHER_SENDER, AGENT)
    rows = list(service.export_optouts())
    assert rows[0][0] == "phone" and len(rows) == 3
    assert rows[1][-1].startswith("'=HYPERLINK")
    assert [r[0] for r in service.export_optouts(sender=OTHER_SENDER)][1:] == ["+12065550101"]
    later = clock.now - timedelta(days=1)
    assert [r[0] for r in service.export_optouts(since=later)][1:] == ["+12065550101"]


def test_import_counts_taken_skipped_and_invalid(service: ConsentService) -> None:
    service.opt_out("+12065550103", None, AGENT)
    rows = [
        {"phone": "+12065550101", "reason": "old system"},
        {"phone_number": "(206) 555-0102", "sender": SENDER, "opted_out_at": "2024-03-01"},
        {"phone": "+12065550101"},
        {"phone": "+12065550103"},
        {"phone": "not a number"},
        {"phone": "+1206001234"},
    ]
    summary = service.import_optouts(rows, Actor(Source.IMPORT, "old.csv"))
    assert (summary.taken, summary.skipped, summary.invalid) == (2, 2, 2)
    assert summary.errors[0].startswith("row 6:")
    assert not service.can_send("+12065550101", OTHER_SENDER)
    status = service.status("+12065550102", SENDER)
    assert status.opted_out_by is Source.IMPORT
    assert status.since == datetime(2024, 3, 1, tzinfo=UTC)


def test_import_repeats_count_as_skipped_in_the_same_or_a_later_chunk(
    service: ConsentService,
) -> None:
    # 2,500 rows span two chunks; each number appears twice, once far apart.
    numbers = [f"+1206555{i:04d}" for i in range(1200)]
    rows = [{"phone": n} for n in numbers] + [{"phone": numbers[0]}] * 2
    rows += [{"phone": n, "sender": SENDER} for n in numbers[:50]]
    rows += [{"phone": n} for n in reversed(numbers)]  # the same numbers again, in chunk 2
    summary = service.import_optouts(rows, Actor(Source.IMPORT, "twice.csv"))
    # taken: 1,200 account-wide and 50 for the sender; skipped: the 2 + 1,200 repeats
    assert (summary.taken, summary.skipped, summary.invalid) == (1250, 1202, 0)
    assert len(service.events(numbers[0])) == 2  # one per scope, none for a repeat


def test_bad_phone_numbers_are_refused_with_an_example(service: ConsentService) -> None:
    with pytest.raises(InvalidPhoneNumber) as raised:
        service.opt_out("555-CALL-NOW", None, AGENT)
    assert "555-CALL-NOW" in raised.value.detail and "for example +1" in raised.value.detail


def test_a_database_that_is_down_is_reported_as_unavailable() -> None:
    down = Database("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=1")
    service = ConsentService(SqlLedger(down), TextDecider())
    with pytest.raises(DatabaseUnavailable):
        text_in(service, "STOP")
    assert down.ping() != "ok"
    down.dispose()


def test_text_no_database_can_hold_is_cleaned_not_lost(service: ConsentService) -> None:
    # PostgreSQL refuses NUL in text, and a lone surrogate cannot be encoded: the opt-out
    # must still be stored, with the rest of the words as written.
    outcome = text_in(service, "STOP\x00")
    assert outcome.changed and not service.can_send(CONTACT, SENDER)
    assert service.events(CONTACT)[0].message_text == "STOP"
    service.opt_out("+12065550101", None, Actor(Source.API, "crm\x00"), reason="cut \ud800 off")
    event = service.events("+12065550101")[0]
    assert event.actor == "crm" and event.reason == "cut ? off"


def test_an_overlong_message_id_is_refused_before_anything_is_stored(
    service: ConsentService,
) -> None:
    with pytest.raises(InvalidInput, match="message id"):
        text_in(service, "STOP", sid="SM" + "x" * 60_000)
    assert service.can_send(CONTACT, SENDER)


@pytest.mark.parametrize("review_id", [0, -1, 2**63, 10**30])
def test_impossible_review_ids_are_not_found(service: ConsentService, review_id: int) -> None:
    with pytest.raises(NotFound):
        service.decide_review(review_id, True, AGENT)


def test_import_refuses_future_and_unreadable_dates_and_ignores_blank_rows(
    service: ConsentService, clock: FixedClock
) -> None:
    rows = [
        {"phone": "+12065550101", "opted_out_at": "2030-01-01"},
        {"phone": "+12065550102", "opted_out_at": "yesterday"},
        {"phone": "", "reason": " "},
        {"phone": "+12065550103", "opted_out_at": "2026-11-01T10:00:00Z"},
    ]
    summary = service.import_optouts(rows, Actor(Source.IMPORT, "list.csv"))
    assert (summary.taken, summary.skipped, summary.invalid) == (1, 0, 2)
    assert "future" in summary.errors[0] and "YYYY-MM-DD" in summary.errors[1]
    assert service.can_send("+12065550101", SENDER)


def test_a_carrier_delivered_number_unknown_to_phonenumbers_still_opts_out(
    service: ConsentService,
) -> None:
    # +44 7700 900xxx is reserved for drama: phonenumbers calls it invalid, but a number a
    # carrier delivers from exists, and its STOP must not be lost to a 400.
    assert text_in(service, "STOP", contact="+447700900123").changed
    assert service.check(SENDER, ["+447700900123"]).invalid == ["+447700900123"]


@pytest.mark.parametrize(
    ("received", "key"),
    [
        ("whatsapp:+12065550111", "+12065550111"),  # a channel prefix is not the number
        ("+1206001234", "+1206001234"),  # too short for North America
        ("+12060012345", "+12060012345"),  # an exchange starting with 0
        ("+99912345", "99912345"),  # an unassigned country code, 8 digits: a short sender
        ("+999123456789", "+999123456789"),
        ("+44123", "44123"),
        ("12345", "12345"),  # a short code
        ("+" + "9" * 25, None),  # longer than any number: a digest key that fits String(20)
    ],
)
def test_a_carrier_number_of_any_shape_is_recorded_and_its_stop_kept(
    service: ConsentService, database: Database, received: str, key: str | None
) -> None:
    outcome = text_in(service, "STOP", contact=received)
    assert outcome.changed and not outcome.status.can_send
    stored = outcome.status.phone
    assert stored == key if key is not None else len(stored) <= 20
    with database.read() as conn:
        row = conn.execute(
            text("SELECT contact, contact_received, sender_received FROM consent_events")
        ).one()
        status = conn.execute(text("SELECT status FROM consent")).scalar_one()
    assert tuple(row) == (stored, received, SENDER) and status == "opted_out"
    # Another shape of the same number is the same contact: its START undoes the STOP.
    again = text_in(service, "START", contact=" " + received.replace("+", "+ ", 1))
    assert again.status.phone == stored and again.status.can_send
