"""Every stored column of the consent row, the event and the review item, after each kind of
transition, read back from the tables themselves (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from core.errors import NotAllowed
from core.model import ACCOUNT, Actor, InboundMessage, Scope, Source, Status
from core.services import ConsentService
from ledger.adapter import SqlLedger
from ledger.db import Database
from ledger.tables import consent, consent_events, inbound_messages, review_items
from tests.fakes import FixedClock, TextDecider

CONTACT, SENDER, OTHER = "+12065550100", "+12065550199", "+12065550101"
AT = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
AGENT = Actor(Source.AGENT, "U0AGENT")
VERSION = TextDecider.version


@pytest.fixture
def service(database: Database) -> ConsentService:
    return ConsentService(SqlLedger(database), TextDecider(), clock=FixedClock(AT))


def sid(n: int) -> str:
    return f"SM{n:032x}"


def text(service: ConsentService, body: str, n: int, sender: str = SENDER) -> Any:
    # The numbers as a carrier might write them: kept beside the E.164 keys.
    message = InboundMessage("twilio", sid(n), "(206) 555-0100", sender, body, AT)
    return service.receive_message(message)


def consent_rows(database: Database) -> dict[str, dict[str, Any]]:
    with database.read() as conn:
        rows = conn.execute(select(consent).where(consent.c.contact == CONTACT)).mappings()
        return {row["scope_key"]: dict(row) for row in rows}


def events(database: Database) -> list[dict[str, Any]]:
    with database.read() as conn:
        query = select(consent_events).order_by(consent_events.c.id)
        return [dict(row) for row in conn.execute(query).mappings()]


def reviews(database: Database) -> list[dict[str, Any]]:
    with database.read() as conn:
        query = select(review_items).order_by(review_items.c.id)
        return [dict(row) for row in conn.execute(query).mappings()]


def contact_event(n: int, body: str, **values: Any) -> dict[str, Any]:
    """An event written for a contact's text, with the columns every such event shares."""
    return {
        "at": AT, "contact": CONTACT, "sender": SENDER, "scope": "sender",
        "previous_status": None, "new_status": None, "source": "contact", "actor": "twilio",
        "message_text": body, "keyword": body, "rule": None, "rules_version": VERSION,
        "carrier": "twilio", "carrier_message_id": sid(n), "reason": None,
        "contact_received": "(206) 555-0100", "sender_received": SENDER, **values,
    }  # fmt: skip


def without_id(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "id"} for row in rows]


def test_stop_then_start_on_one_number_with_no_account_row(
    service: ConsentService, database: Database
) -> None:
    def texted(status: str, rule: str, word: str) -> dict[str, Any]:
        return {"contact": CONTACT, "scope_key": SENDER, "status": status, "source": "contact",
                "actor": "twilio", "since": AT, "rule": rule, "keyword": word,
                "message_text": word, "reason": None}  # fmt: skip

    text(service, "STOP", 1)
    assert consent_rows(database) == {SENDER: texted("opted_out", "opt_out", "STOP")}
    start = text(service, "START", 2)
    assert start.changed and start.status.can_send
    assert consent_rows(database) == {SENDER: texted("subscribed", "opt_in", "START")}
    assert without_id(events(database)) == [
        contact_event(1, "STOP", action="opt_out", rule="opt_out",
                      previous_status="subscribed", new_status="opted_out"),
        contact_event(2, "START", action="opt_in", rule="opt_in",
                      previous_status="opted_out", new_status="subscribed"),
    ]  # fmt: skip
    assert ACCOUNT not in consent_rows(database)


def test_start_from_a_subscribed_contact_changes_no_row_and_writes_no_opt_in(
    service: ConsentService, database: Database
) -> None:
    text(service, "STOP", 1)
    text(service, "START", 2)
    before = (consent_rows(database), events(database))
    again = text(service, "START", 3)
    assert not again.changed and again.status.can_send
    assert (consent_rows(database), events(database)) == before
    fresh = text(service, "START", 4, sender=OTHER)  # never opted out anywhere
    assert not fresh.changed
    assert (consent_rows(database), events(database)) == before


def test_an_account_opt_out_by_an_agent_and_its_refused_undo(
    service: ConsentService, database: Database
) -> None:
    service.opt_out(CONTACT, None, AGENT, reason="asked on a call")
    assert consent_rows(database) == {
        ACCOUNT: {
            "contact": CONTACT, "scope_key": ACCOUNT, "status": "opted_out", "source": "agent",
            "actor": "U0AGENT", "since": AT, "rule": "agent_opt_out", "keyword": None,
            "message_text": None, "reason": "asked on a call",
        }
    }  # fmt: skip
    text(service, "STOPALL", 1)  # the contact's own opt-out replaces the agent's
    with pytest.raises(NotAllowed):
        service.opt_in(CONTACT, None, AGENT, reason="customer called back")
    first, contacts_own, refused = without_id(events(database))
    assert first == {
        "at": AT, "contact": CONTACT, "sender": None, "scope": "account", "action": "opt_out",
        "previous_status": "subscribed", "new_status": "opted_out", "source": "agent",
        "actor": "U0AGENT", "message_text": None, "keyword": None, "rule": "agent_opt_out",
        "rules_version": VERSION, "carrier": None, "carrier_message_id": None,
        "reason": "asked on a call", "contact_received": None, "sender_received": None,
    }  # fmt: skip
    assert contacts_own == contact_event(
        1, "STOPALL", scope="account", action="opt_out", rule="opt_out",
        previous_status="opted_out", new_status="opted_out",
    )  # fmt: skip
    assert refused == {
        **first, "action": "refused", "previous_status": None, "new_status": None,
        "rule": "agent_opt_in",
        "reason": "This contact opted out by text; only the contact can re-subscribe, by "
        "texting START, YES or UNSTOP. (request: customer called back)",
    }  # fmt: skip
    assert consent_rows(database)[ACCOUNT]["source"] == "contact"


def test_a_review_item_keeps_every_field_and_its_decision(
    service: ConsentService, database: Database
) -> None:
    text(service, "please remove me", 1)
    (item,) = reviews(database)
    assert {k: v for k, v in item.items() if k != "id"} == {
        "contact": CONTACT, "sender": SENDER, "message_text": "please remove me",
        "phrase": "remove me", "opened_at": AT, "deadline": datetime(2026, 12, 10, 15, tzinfo=UTC),
        "status": "open", "decision": None, "decided_by": None, "decided_at": None,
        "carrier": "twilio", "carrier_message_id": sid(1),
    }  # fmt: skip
    (opened,) = without_id(events(database))
    assert opened == contact_event(
        1, "please remove me", action="review_opened", keyword="remove me", rule="review"
    )
    shown = service.reviews(CONTACT)[0]
    assert (shown.carrier, shown.carrier_message_id) == ("twilio", sid(1))

    service.decide_review(item["id"], True, AGENT)
    (decided,) = reviews(database)
    assert (decided["status"], decided["decision"], decided["decided_by"]) == (
        "closed", "opt_out", "U0AGENT"
    )  # fmt: skip
    assert decided["decided_at"] == AT
    assert consent_rows(database)[SENDER] == {
        "contact": CONTACT, "scope_key": SENDER, "status": "opted_out", "source": "contact",
        "actor": "U0AGENT", "since": AT, "rule": "review:opt_out", "keyword": "remove me",
        "message_text": "please remove me",
        "reason": f"review {item['id']} decided by agent U0AGENT",
    }  # fmt: skip
    _, opt_out, closed = without_id(events(database))
    assert (opt_out["action"], opt_out["source"], opt_out["scope"]) == (
        "opt_out", "contact", "sender"
    )  # fmt: skip
    assert (closed["action"], closed["source"], closed["actor"]) == (
        "review_closed", "agent", "U0AGENT"
    )  # fmt: skip


def test_a_status_lists_the_account_first_then_senders_by_number(
    service: ConsentService,
) -> None:
    for n, sender in enumerate(["+12065550199", "+12065550101", "+12065550150"], start=1):
        text(service, "STOP", n, sender=sender)
    service.opt_out(CONTACT, None, AGENT)
    scopes = service.status(CONTACT).scopes
    assert [(s.scope, s.sender) for s in scopes] == [
        (Scope.ACCOUNT, None),
        (Scope.SENDER, "+12065550101"),
        (Scope.SENDER, "+12065550150"),
        (Scope.SENDER, "+12065550199"),
    ]
    assert all(s.status is Status.OPTED_OUT for s in scopes)


def test_a_handled_message_is_stored_with_its_numbers_and_its_answer(
    service: ConsentService, database: Database
) -> None:
    text(service, "STOP", 1)
    text(service, "hello there", 2, sender=OTHER)
    with database.read() as conn:
        query = select(inbound_messages).order_by(inbound_messages.c.id)
        stored = [{k: v for k, v in row.items() if k != "id"}
                  for row in conn.execute(query).mappings()]  # fmt: skip
    common = {"carrier": "twilio", "contact": CONTACT, "contact_received": "(206) 555-0100",
              "received_at": AT}  # fmt: skip
    assert stored == [
        {**common, "message_id": sid(1), "sender": SENDER, "sender_received": SENDER,
         "body": "STOP", "transition": "opt_out", "rule": "opt_out", "reply": "Unsubscribed."},
        {**common, "message_id": sid(2), "sender": OTHER, "sender_received": OTHER,
         "body": "hello there", "transition": "none", "rule": "none", "reply": None},
    ]  # fmt: skip
