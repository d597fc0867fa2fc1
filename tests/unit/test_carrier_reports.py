"""What a carrier reports (a flagged text, an opted-out refusal), against the fake ledger."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from core.carrier_reports import carrier_rule, flagged, refusal_meaning, refused
from core.errors import InvalidInput
from core.model import (
    ACCOUNT,
    Action,
    Actor,
    CarrierFlag,
    Decision,
    DecisionRequest,
    DeliveryStatus,
    InboundMessage,
    Scope,
    ScopeFacts,
    Source,
    Status,
    Transition,
)
from core.phone import region_of
from core.services import ConsentService
from tests.fakeledger import FakeLedger
from tests.fakes import FixedClock, TextDecider

CONTACT, SENDER, OTHER = "+12065550100", "+12065550199", "+12065550177"
AT = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
SID = "SM" + "e" * 32
DECIDER = TextDecider()


def request(text: str, sender_status: Status = Status.SUBSCRIBED) -> DecisionRequest:
    by = Source.CONTACT if sender_status is Status.OPTED_OUT else None
    return DecisionRequest(Source.CONTACT, SENDER, ScopeFacts(sender_status, by), ScopeFacts(),
                           text=text)  # fmt: skip


def decided(transition: Transition, rule: str = "rules_rule") -> Decision:
    return Decision(transition, Scope.SENDER, rule, DECIDER.version)


def refusal(code: str | None = "21610", *, message_id: str = SID, contact: str = CONTACT,
            carrier: str = "twilio") -> DeliveryStatus:  # fmt: skip
    return DeliveryStatus(carrier, message_id, contact, SENDER, "failed", code, AT)


@pytest.fixture
def ledger() -> FakeLedger:
    return FakeLedger()


@pytest.fixture
def service(ledger: FakeLedger) -> ConsentService:
    return ConsentService(ledger, TextDecider(), clock=FixedClock(AT))


def test_a_flagged_stop_the_rules_missed_is_the_rules_stop_under_the_carriers_rule() -> None:
    decision, reason = flagged(DECIDER, "twilio", CarrierFlag.STOP, request("nope"),
                               decided(Transition.NONE, "none"))  # fmt: skip
    assert decision.transition is Transition.OPT_OUT and decision.scope is Scope.SENDER
    assert decision.rule == "carrier:twilio:STOP" and decision.reply == "Unsubscribed."
    assert reason == (
        "twilio flagged this text STOP (its own opt-out handling acted on it); "
        "rules.yml decided none by rule none"
    )


def test_a_carrier_with_account_scope_widens_a_flagged_stop() -> None:
    decision, _ = flagged(DECIDER, "wide", CarrierFlag.STOP, request("STOP"),
                          decided(Transition.OPT_OUT))  # fmt: skip
    assert decision.scope is Scope.ACCOUNT and decision.rule == "rules_rule"


def test_when_they_agree_the_rules_decision_stands_untouched() -> None:
    mine = decided(Transition.OPT_OUT, "opt_out")
    assert flagged(DECIDER, "twilio", CarrierFlag.STOP, request("STOP"), mine) == (mine, None)


@pytest.mark.parametrize(
    ("flag", "text", "status", "rules", "expected"),
    [
        (CarrierFlag.START, "hi", Status.OPTED_OUT, Transition.NONE, Transition.OPT_IN),
        (CarrierFlag.START, "hi", Status.SUBSCRIBED, Transition.NONE, Transition.NONE),
        (CarrierFlag.START, "STOP", Status.SUBSCRIBED, Transition.OPT_OUT, Transition.OPT_OUT),
        (CarrierFlag.STOP, "hi", Status.OPTED_OUT, Transition.NONE, Transition.NONE),
        (CarrierFlag.STOP, "remove me", Status.SUBSCRIBED, Transition.REVIEW, Transition.OPT_OUT),
    ],
)  # fmt: skip
def test_what_a_flag_makes_of_the_rules_decision(
    flag: CarrierFlag, text: str, status: Status, rules: Transition, expected: Transition
) -> None:
    decision, reason = flagged(DECIDER, "plivo", flag, request(text, status), decided(rules))
    assert decision.transition is expected
    changed = expected is not rules
    assert (decision.rule == carrier_rule("plivo", flag.value)) is changed
    assert (reason is not None) is changed


def test_a_refusal_is_an_opt_out_under_the_carriers_code() -> None:
    decision, reason = refused(DECIDER, refusal(), "Attempt to send to unsubscribed recipient")
    assert decision == Decision(Transition.OPT_OUT, Scope.SENDER, "carrier:twilio:21610",
                                DECIDER.version)  # fmt: skip
    assert reason == (
        f"twilio refused message {SID} with error 21610 (Attempt to send to unsubscribed "
        "recipient): the contact opted out at the carrier; only the contact can undo it, by "
        "texting START, YES or UNSTOP"
    )
    _, without_id = refused(DECIDER, refusal(message_id=""), "x")
    assert without_id.startswith("twilio refused a message with error 21610 (x)")


def test_a_recorded_refusal_writes_the_whole_audit_trail(
    service: ConsentService, ledger: FakeLedger
) -> None:
    outcome = service.receive_status(refusal(contact="2065550100"))
    assert outcome is not None and outcome.changed and not outcome.status.can_send
    (event,) = ledger.events
    assert event == {
        "id": 1, "at": AT, "contact": CONTACT, "sender": SENDER, "scope": Scope.SENDER,
        "action": Action.OPT_OUT, "previous_status": Status.SUBSCRIBED,
        "new_status": Status.OPTED_OUT, "source": Source.CONTACT, "actor": "twilio",
        "message_text": None, "keyword": None, "rule": "carrier:twilio:21610",
        "rules_version": DECIDER.version, "carrier": "twilio", "carrier_message_id": SID,
        "reason": event["reason"], "contact_received": "2065550100", "sender_received": SENDER,
    }  # fmt: skip
    assert "21610" in event["reason"] and SID in event["reason"]
    row = ledger.consent[(CONTACT, SENDER)]
    assert (row["status"], row["source"], row["actor"], row["rule"]) == (
        "opted_out", "contact", "twilio", "carrier:twilio:21610"
    )  # fmt: skip
    (message,) = ledger.messages.values()
    assert (message["message_id"], message["body"], message["transition"]) == (SID, "", "opt_out")


def test_a_repeated_refusal_gets_the_first_answer(
    service: ConsentService, ledger: FakeLedger
) -> None:
    service.receive_status(refusal())
    again = service.receive_status(refusal())
    assert again is not None and again.duplicate and not again.changed
    assert len(ledger.events) == 1


@pytest.mark.parametrize("blocked_key", [SENDER, ACCOUNT])
def test_a_refusal_for_a_contact_already_opted_out_changes_nothing(
    service: ConsentService, ledger: FakeLedger, blocked_key: str
) -> None:
    if blocked_key == ACCOUNT:
        service.opt_out(CONTACT, None, Actor(Source.AGENT, "U1"))
    else:
        stop = InboundMessage("twilio", "SM" + "a" * 32, CONTACT, SENDER, "STOP", AT)
        service.receive_message(stop)
    before = list(ledger.events)
    outcome = service.receive_status(refusal())
    assert outcome is not None and outcome.decision.transition is Transition.NONE
    assert not outcome.changed and ledger.events == before
    assert SID in {key[1] for key in ledger.messages}  # its retries are still known


@pytest.mark.parametrize("code", [None, "", "30003", "21611"])
def test_other_codes_are_not_stored(
    service: ConsentService, ledger: FakeLedger, code: str | None
) -> None:
    assert service.receive_status(refusal(code)) is None
    assert ledger.events == [] and ledger.messages == {}


def test_reported_refusals_say_who_reported_them(
    service: ConsentService, ledger: FakeLedger
) -> None:
    outcomes = service.carrier_refusals([refusal(message_id=""), refusal("40300", carrier="telnyx",
                                         message_id="")], "crm")  # fmt: skip
    assert [o.changed for o in outcomes] == [True, False]  # the second: already opted out
    assert ledger.events[0]["reason"].endswith("(reported by crm)")


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        (refusal(carrier="aws"), ["carrier 'aws' is not one stopline knows", "twilio, telnyx"]),
        (refusal("30003"), ["'30003'", "21610", "nothing was recorded"]),
        (refusal(contact="call me"), ["call me"]),
        (refusal(message_id="SM1"), ["message_id", "twilio message id"]),
    ],
)
def test_a_refusal_not_understood_records_nothing_of_the_list(
    service: ConsentService, ledger: FakeLedger, bad: DeliveryStatus, words: list[str]
) -> None:
    with pytest.raises(InvalidInput) as info:
        service.carrier_refusals([refusal(), bad], "crm")
    assert info.value.detail.startswith("refusal 2 of 2: ")
    assert all(w in info.value.detail for w in words), info.value.detail
    assert ledger.events == []


def test_a_single_refusal_is_not_numbered() -> None:
    with pytest.raises(InvalidInput) as info:
        refusal_meaning(refusal("1"))
    assert not info.value.detail.startswith("refusal")


@pytest.mark.parametrize("sender_id", ["AcmeInc", "ACME 2", ""])
def test_a_refusal_from_a_sender_id_that_is_a_name_covers_the_account(
    service: ConsentService, ledger: FakeLedger, sender_id: str
) -> None:
    status = DeliveryStatus("twilio", SID, CONTACT, sender_id, "failed", "21610", AT)
    outcome = service.receive_status(status)
    assert outcome is not None and outcome.changed
    assert not service.status(CONTACT, OTHER).can_send  # every number of the account
    (event,) = ledger.events
    assert event["scope"] == Scope.ACCOUNT and event["sender"] is None
    assert (event["sender_received"] or "") == sender_id
    assert "not a number, so the opt-out covers every number" in event["reason"]
    again = service.receive_status(status)
    assert again is not None and again.duplicate and len(ledger.events) == 1
    reported = service.carrier_refusals([replace(status, message_id="")], "crm")
    assert not reported[0].changed  # already opted out of the account: accepted, no change


UK_BUSINESS, UK_CONTACT = "+447400123456", "+447400654321"


@pytest.mark.parametrize("written", ["07400 654321", "07400654321", "447400654321", UK_CONTACT])
def test_a_contact_written_nationally_is_read_in_the_region_of_the_number_texted(
    service: ConsentService, written: str
) -> None:
    stop = InboundMessage("twilio", "SM" + "c" * 32, written, UK_BUSINESS, "STOP", AT)
    service.receive_message(stop)
    assert not service.status(UK_CONTACT, UK_BUSINESS).can_send


def test_a_refusal_reads_its_recipient_in_the_region_of_the_sender(
    service: ConsentService,
) -> None:
    refused_here = DeliveryStatus("twilio", SID, "07400 654321", UK_BUSINESS, "failed", "21610", AT)
    assert service.receive_status(refused_here) is not None
    assert not service.status(UK_CONTACT, UK_BUSINESS).can_send


@pytest.mark.parametrize(
    ("e164", "region"),
    [("+447400123456", "GB"), ("+12065550100", "US"), ("+14165550100", "CA"),
     ("+80012345678", "US"), (None, "US"), ("12345", "US")],
)  # fmt: skip
def test_region_of(e164: str | None, region: str) -> None:
    assert region_of(e164, "US") == region
