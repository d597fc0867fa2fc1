"""Every field a carrier's report leaves behind: the outcome, the event, the message, the lock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.carrier_reports import Reporting, flagged, record_opt_out, refusal_meaning
from core.errors import InvalidInput, InvalidPhoneNumber
from core.model import (
    ACCOUNT,
    CarrierFlag,
    Decision,
    DecisionRequest,
    DeliveryStatus,
    InboundMessage,
    Outcome,
    Scope,
    ScopeFacts,
    Source,
    Status,
    Transition,
)
from core.services import ConsentService
from tests.fakeledger import FakeLedger
from tests.fakes import FixedClock, TextDecider

CONTACT, SENDER = "+12065550100", "+12065550199"
AT = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
SID = "SM" + "e" * 32
MEANING = "Attempt to send to unsubscribed recipient"
DECIDER = TextDecider()


def refusal(carrier: str = "twilio", *, message_id: str = SID, contact: str = CONTACT,
            sender: str = SENDER, code: str = "21610") -> DeliveryStatus:  # fmt: skip
    return DeliveryStatus(carrier, message_id, contact, sender, "failed", code, AT)


@pytest.fixture
def ledger() -> FakeLedger:
    return FakeLedger()


@pytest.fixture
def service(ledger: FakeLedger) -> ConsentService:
    return ConsentService(ledger, TextDecider(), clock=FixedClock(AT))


def test_the_refusal_is_recorded_under_the_contacts_lock_with_its_message(
    service: ConsentService, ledger: FakeLedger
) -> None:
    outcome = service.receive_status(refusal(contact="(206) 555-0100"))
    assert ledger.locked == [CONTACT]
    assert outcome == Outcome(
        Decision(Transition.OPT_OUT, Scope.SENDER, "carrier:twilio:21610", DECIDER.version),
        True, None, service.status(CONTACT, SENDER), event_id=1,
    )  # fmt: skip
    assert f"({MEANING})" in ledger.events[0]["reason"]
    assert ledger.events[0]["contact_received"] == "(206) 555-0100"
    (message,) = ledger.messages.values()
    assert message == {
        "carrier": "twilio", "message_id": SID, "contact": CONTACT, "sender": SENDER,
        "contact_received": "(206) 555-0100", "sender_received": SENDER, "body": "",
        "received_at": AT, "transition": Transition.OPT_OUT, "rule": "carrier:twilio:21610",
        "reply": None,
    }  # fmt: skip


def test_a_repeat_is_told_the_first_answer_and_the_consent_now(
    service: ConsentService, ledger: FakeLedger
) -> None:
    service.receive_status(refusal())
    again = service.receive_status(refusal())
    assert again == Outcome(
        Decision(Transition.OPT_OUT, Scope.SENDER, "carrier:twilio:21610", DECIDER.version),
        False, None, service.status(CONTACT, SENDER), duplicate=True,
    )  # fmt: skip
    assert ledger.locked == [CONTACT, CONTACT]


def test_a_retried_text_is_told_its_first_reply(service: ConsentService) -> None:
    stop = InboundMessage("twilio", SID, CONTACT, SENDER, "STOP", AT)
    service.receive_message(stop)
    again = service.receive_message(stop)
    assert again == Outcome(
        Decision(Transition.OPT_OUT, Scope.SENDER, "opt_out", DECIDER.version,
                 reply="Unsubscribed."),
        False, "Unsubscribed.", service.status(CONTACT, SENDER), duplicate=True,
    )  # fmt: skip


def test_already_opted_out_says_so_with_the_status(
    service: ConsentService, ledger: FakeLedger
) -> None:
    service.receive_message(InboundMessage("twilio", "SM" + "a" * 32, CONTACT, SENDER, "STOP", AT))
    outcome = service.receive_status(refusal())
    assert outcome == Outcome(
        Decision(Transition.NONE, Scope.SENDER, "carrier:twilio:21610", DECIDER.version),
        False, None, service.status(CONTACT, SENDER),
    )  # fmt: skip


def test_an_account_wide_report_is_not_stopped_by_one_numbers_opt_out(
    service: ConsentService, ledger: FakeLedger
) -> None:
    service.receive_message(InboundMessage("twilio", "SM" + "a" * 32, CONTACT, SENDER, "STOP", AT))
    # "wide": the fake rules' carrier whose reports cover the account (carrier_scope).
    at = Reporting(ledger, DECIDER, FixedClock(AT), "US")
    outcome = record_opt_out(at, refusal("wide", message_id=""), MEANING, None)
    assert outcome.changed and outcome.decision.scope is Scope.ACCOUNT
    assert not service.status(CONTACT, "+12065550177").can_send  # every number now
    assert ledger.events[-1]["scope"] == Scope.ACCOUNT


@pytest.mark.parametrize(
    ("sender", "said"),
    [("AcmeInc", "the refused message was sent from 'AcmeInc', not a number"),
     (ACCOUNT, "the refused message names no sender number")],
)  # fmt: skip
def test_a_report_from_no_number_covers_the_account_and_says_why(
    service: ConsentService, ledger: FakeLedger, sender: str, said: str
) -> None:
    outcome = service.receive_status(refusal(sender=sender))
    assert outcome is not None and outcome.decision.scope is Scope.ACCOUNT
    assert outcome.status == service.status(CONTACT)
    (event,) = ledger.events
    assert event["reason"].endswith(f"; {said}, so the opt-out covers every number of the account")
    assert event["sender_received"] == (None if sender == ACCOUNT else sender)
    (message,) = ledger.messages.values()
    assert (message["sender"], message["sender_received"]) == (ACCOUNT, sender)
    again = service.receive_status(refusal(sender=sender))
    assert again is not None and again.status == service.status(CONTACT)


def test_a_report_with_control_characters_in_its_numbers_keeps_them_clean(
    service: ConsentService, ledger: FakeLedger
) -> None:
    service.receive_status(refusal(contact="+1 206 555 0100\x00", sender="+12065550199\x00"))
    (event,) = ledger.events
    assert event["contact_received"] == "+1 206 555 0100"
    assert event["sender_received"] == SENDER
    (message,) = ledger.messages.values()
    assert (message["contact_received"], message["sender_received"]) == ("+1 206 555 0100", SENDER)
    assert ledger.locked == [CONTACT]


def test_a_report_without_a_recipient_is_refused_for_having_no_digits(
    service: ConsentService,
) -> None:
    with pytest.raises(InvalidPhoneNumber) as info:
        service.receive_status(refusal(contact="\x00"))
    assert info.value.reason == "it has no digits"


def test_the_region_of_a_short_code_sender_is_the_default_one(ledger: FakeLedger) -> None:
    service = ConsentService(ledger, TextDecider(), region="GB", clock=FixedClock(AT))
    service.receive_status(refusal(contact="07400 654321", sender="60123"))
    assert ledger.locked == ["+447400654321"]


def test_a_sender_written_nationally_is_read_in_the_default_region(ledger: FakeLedger) -> None:
    service = ConsentService(ledger, TextDecider(), region="GB", clock=FixedClock(AT))
    service.receive_status(refusal(contact="+447400654321", sender="07400 123456"))
    assert ledger.events[0]["sender"] == "+447400123456"


@pytest.mark.parametrize(
    ("carrier", "flag", "text", "rules", "scope"),
    [("twilio", CarrierFlag.STOP, "STOPALL", Scope.ACCOUNT, Scope.ACCOUNT),  # never narrowed
     ("wide", CarrierFlag.STOP, "STOP", Scope.SENDER, Scope.ACCOUNT),  # carrier_scope widens
     ("wide", CarrierFlag.START, "STOP", Scope.SENDER, Scope.SENDER)],  # only a STOP's scope
)  # fmt: skip
def test_what_a_flag_does_to_the_scope(
    carrier: str, flag: CarrierFlag, text: str, rules: Scope, scope: Scope
) -> None:
    request = DecisionRequest(Source.CONTACT, SENDER, ScopeFacts(), ScopeFacts(), text=text)
    mine = Decision(Transition.OPT_OUT, rules, "opt_out", DECIDER.version)
    decision, reason = flagged(DECIDER, carrier, flag, request, mine)
    assert (decision.scope, reason) == (scope, None)


@pytest.mark.parametrize(
    ("bad", "message"),
    [(refusal("aws"), "unknown carrier 'aws'"),
     (refusal(code="30003"), "twilio error 30003 does not say the recipient opted out"),
     (refusal(contact="--"), '"--" is not a valid phone number: it has no digits'),
     (refusal(message_id="SM1"), "message_id is not a twilio message id")],
)  # fmt: skip
def test_what_a_refusal_not_understood_says(bad: DeliveryStatus, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        refusal_meaning(bad)
    assert info.value.message == message
    assert not info.value.detail.startswith("refusal")
    with pytest.raises(InvalidInput) as numbered:
        refusal_meaning(bad, "refusal 3 of 3: ")
    assert numbered.value.message == f"refusal 3 of 3: {message}"
    assert numbered.value.detail.startswith("refusal 3 of 3: ")


def test_the_codes_understood_are_listed_and_the_id_field_named() -> None:
    with pytest.raises(InvalidInput) as info:
        refusal_meaning(refusal("vonage", code="9", message_id=""))
    assert info.value.detail.endswith("The codes understood for vonage: 1240.")
    with pytest.raises(InvalidInput) as bad_id:
        refusal_meaning(refusal(message_id="SM1"))
    assert bad_id.value.detail.startswith("message_id 'SM1' is not a twilio message id")
    assert refusal_meaning(refusal()) == MEANING


def test_the_status_opted_out_keys_are_rows_not_guesses(service: ConsentService) -> None:
    assert service.receive_status(refusal()) is not None
    row = service.status(CONTACT, SENDER).scopes[0]
    assert (row.status, row.source, row.actor) == (Status.OPTED_OUT, Source.CONTACT, "twilio")
