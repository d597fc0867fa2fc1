"""The service layer against the in-memory FakeLedger and TextDecider (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.errors import Conflict, NotAllowed
from core.model import Actor, InboundMessage, Source, Status
from core.services import ConsentService
from tests.fakeledger import FakeLedger
from tests.fakes import FixedClock, TextDecider

CONTACT, SENDER = "+12065550100", "+12065550199"
AT = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
AGENT = Actor(Source.AGENT, "U123")


@pytest.fixture
def ledger() -> FakeLedger:
    return FakeLedger()


@pytest.fixture
def service(ledger: FakeLedger) -> ConsentService:
    return ConsentService(ledger, TextDecider(), clock=FixedClock(AT))


def text(body: str, message_id: str = "SM1") -> InboundMessage:
    return InboundMessage("twilio", message_id, CONTACT, SENDER, body, AT)


def test_stop_then_start_on_one_number(service: ConsentService, ledger: FakeLedger) -> None:
    stop = service.receive_message(text("STOP", "SM" + "a" * 32))
    assert stop.changed and not stop.status.can_send
    row = ledger.consent[(CONTACT, SENDER)]
    assert (row["status"], row["source"], row["since"]) == ("opted_out", "contact", AT)
    assert (row["rule"], row["keyword"], row["message_text"]) == ("opt_out", "STOP", "STOP")
    start = service.receive_message(text("START", "SM" + "b" * 32))
    assert start.changed and start.status.can_send
    assert ledger.consent[(CONTACT, SENDER)]["status"] == "subscribed"
    assert (CONTACT, "*") not in ledger.consent
    assert [e.action.value for e in service.events(CONTACT)] == ["opt_in", "opt_out"]


def test_start_when_subscribed_writes_nothing(service: ConsentService, ledger: FakeLedger) -> None:
    outcome = service.receive_message(text("START", "SM" + "c" * 32))
    assert not outcome.changed and outcome.status.can_send
    assert ledger.consent == {}
    assert all(e["action"] != "opt_in" for e in ledger.events)


def test_retried_message_gets_the_first_answer(service: ConsentService, ledger: FakeLedger) -> None:
    first = service.receive_message(text("STOP", "SM" + "d" * 32))
    written = (len(ledger.events), dict(ledger.consent), len(ledger.messages))
    again = service.receive_message(text("STOP", "SM" + "d" * 32))
    assert again.duplicate and again.reply == first.reply
    assert (len(ledger.events), dict(ledger.consent), len(ledger.messages)) == written


@pytest.mark.parametrize("sender", [SENDER, None])
def test_agent_opt_out_then_opt_in(
    service: ConsentService, ledger: FakeLedger, sender: str | None
) -> None:
    out = service.opt_out(CONTACT, sender, AGENT, "asked by phone")
    key = sender or "*"
    row = ledger.consent[(CONTACT, key)]
    assert (row["status"], row["source"], row["actor"]) == ("opted_out", "agent", "U123")
    assert row["reason"] == "asked by phone" and not out.status.can_send
    back = service.opt_in(CONTACT, sender, AGENT)
    assert back.status.can_send and ledger.consent[(CONTACT, key)]["status"] == "subscribed"


def test_agent_opt_in_over_contact_opt_out_is_refused(
    service: ConsentService, ledger: FakeLedger
) -> None:
    service.receive_message(text("STOP", "SM" + "e" * 32))
    with pytest.raises(NotAllowed):
        service.opt_in(CONTACT, SENDER, AGENT, "customer called")
    assert ledger.consent[(CONTACT, SENDER)]["status"] == "opted_out"
    refused = ledger.events[-1]
    assert refused["action"] == "refused" and refused["actor"] == "U123"


def test_status_scope_order_and_check(service: ConsentService) -> None:
    service.opt_out(CONTACT, "+12065550198", AGENT)
    service.opt_out(CONTACT, None, AGENT)
    service.opt_out(CONTACT, "+12065550197", AGENT)
    scopes = service.status(CONTACT).scopes
    assert [s.sender for s in scopes] == [None, "+12065550197", "+12065550198"]
    result = service.check(SENDER, [CONTACT, "+12065550101", "nonsense"])
    assert CONTACT in result.suppressed and "+12065550101" in result.sendable


def test_decide_review_first_wins(service: ConsentService, ledger: FakeLedger) -> None:
    outcome = service.receive_message(text("please remove me", "SM" + "f" * 32))
    assert outcome.review_id is not None
    item = service.decide_review(outcome.review_id, True, AGENT)
    assert (item.status, item.decision, item.decided_by) == ("closed", "opt_out", "U123")
    assert ledger.consent[(CONTACT, SENDER)]["status"] == Status.OPTED_OUT.value
    with pytest.raises(Conflict):
        service.decide_review(outcome.review_id, False, Actor(Source.AGENT, "U999"))
    assert service.reviews(status="decided")[0].id == outcome.review_id


def test_import_counts_invalid_and_repeats(service: ConsentService, ledger: FakeLedger) -> None:
    rows = [{"phone": CONTACT}, {"phone": CONTACT}, {"phone": "nope"}, {"phone": "+12065550102"}]
    summary = service.import_optouts(rows, Actor(Source.IMPORT, "list.csv"))
    assert (summary.taken, summary.skipped, summary.invalid) == (2, 1, 1)
    assert ledger.consent[(CONTACT, "*")]["source"] == "import"
