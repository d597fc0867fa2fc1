"""Carrying out a decision in a transaction, and a contact's status read from its rows."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from core.model import (
    ACCOUNT,
    Command,
    Decision,
    Scope,
    ScopeFacts,
    ScopeState,
    Source,
    Status,
    Transition,
)
from core.planning import Context
from core.recording import consent_status, facts, record, request_for, scope_state
from tests.fakeledger import FakeLedger

CONTACT = "+12065550100"
LOW, HIGH = "+12065550101", "+12065550199"  # two sender numbers, LOW sorts first
SINCE = datetime(2026, 3, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def row(key: str, status: Status, source: Source | None = Source.CONTACT) -> ScopeState:
    scope = Scope.ACCOUNT if key == ACCOUNT else Scope.SENDER
    return ScopeState(scope, None if key == ACCOUNT else key, status, source, "who", SINCE)


def test_the_scopes_of_a_status_are_the_account_first_then_senders_by_number() -> None:
    rows = {
        HIGH: row(HIGH, Status.OPTED_OUT),
        ACCOUNT: row(ACCOUNT, Status.SUBSCRIBED, Source.API),
        LOW: row(LOW, Status.SUBSCRIBED),
    }
    status = consent_status(CONTACT, None, rows)
    assert [(s.scope, s.sender) for s in status.scopes] == [
        (Scope.ACCOUNT, None), (Scope.SENDER, LOW), (Scope.SENDER, HIGH)
    ]  # fmt: skip


def test_senders_are_ordered_by_number_not_by_insertion() -> None:
    numbers = ["+447700900123", "+12065550100", "+33612345678", "+12065550001"]
    rows = {n: row(n, Status.OPTED_OUT) for n in numbers}
    status = consent_status(CONTACT, None, rows)
    assert [s.sender for s in status.scopes] == sorted(numbers)


@pytest.mark.parametrize(
    ("rows", "sender", "blocked_by"),
    [
        ({}, HIGH, None),
        ({HIGH: row(HIGH, Status.OPTED_OUT)}, HIGH, Scope.SENDER),
        ({HIGH: row(HIGH, Status.OPTED_OUT)}, LOW, None),  # another number's opt-out
        ({HIGH: row(HIGH, Status.OPTED_OUT)}, None, None),  # the account as a whole may send
        ({ACCOUNT: row(ACCOUNT, Status.OPTED_OUT, Source.AGENT)}, LOW, Scope.ACCOUNT),
        # both block: the account's opt-out is the one named
        ({ACCOUNT: row(ACCOUNT, Status.OPTED_OUT, Source.AGENT), HIGH: row(HIGH, Status.OPTED_OUT)},
         HIGH, Scope.ACCOUNT),
        ({ACCOUNT: row(ACCOUNT, Status.SUBSCRIBED), HIGH: row(HIGH, Status.OPTED_OUT)},
         HIGH, Scope.SENDER),
    ],
)  # fmt: skip
def test_what_blocks_a_sender(
    rows: dict[str, ScopeState], sender: str | None, blocked_by: Scope | None
) -> None:
    status = consent_status(CONTACT, sender, rows)
    assert (status.phone, status.sender) == (CONTACT, sender)
    assert status.can_send is (blocked_by is None)
    assert status.status is (Status.SUBSCRIBED if blocked_by is None else Status.OPTED_OUT)
    assert status.scope is blocked_by
    if blocked_by is None:
        assert (status.opted_out_by, status.since) == (None, None)
    else:
        blocking = rows[ACCOUNT if blocked_by is Scope.ACCOUNT else HIGH]
        assert (status.opted_out_by, status.since) == (blocking.source, SINCE)


def test_facts_of_a_scope() -> None:
    rows = {HIGH: row(HIGH, Status.OPTED_OUT, Source.AGENT), LOW: row(LOW, Status.SUBSCRIBED)}
    assert facts(rows, HIGH) == ScopeFacts(status=Status.OPTED_OUT, opted_out_by=Source.AGENT)
    # a subscribed row keeps who changed it to itself: the rules see no opt-out's author
    assert facts(rows, LOW) == ScopeFacts(status=Status.SUBSCRIBED, opted_out_by=None)
    assert facts(rows, ACCOUNT) == ScopeFacts() == facts(rows, None)
    assert ScopeFacts().status is Status.SUBSCRIBED and ScopeFacts().opted_out_by is None


@pytest.mark.parametrize(
    ("sender", "command", "scope"),
    [
        (HIGH, None, None),
        (HIGH, Command.OPT_OUT, Scope.SENDER),
        (None, Command.OPT_IN, Scope.ACCOUNT),
    ],
)
def test_the_request_carries_both_scopes_facts_and_what_was_asked(
    sender: str | None, command: Command | None, scope: Scope | None
) -> None:
    rows = {HIGH: row(HIGH, Status.OPTED_OUT), ACCOUNT: row(ACCOUNT, Status.OPTED_OUT, Source.API)}
    request = request_for(rows, Source.AGENT, sender, text="STOP", command=command)
    assert (request.actor, request.sender, request.text, request.command) == (
        Source.AGENT, sender, "STOP", command
    )  # fmt: skip
    assert request.sender_state == facts(rows, sender)
    assert request.account_state == ScopeFacts(Status.OPTED_OUT, Source.API)
    assert request.scope is scope


def test_a_stored_row_reads_back_as_its_scope_state() -> None:
    stored = SimpleNamespace(
        scope_key=HIGH, status="opted_out", source="agent", actor="U1", since=SINCE,
        rule="agent_opt_out", message_text="STOP please", keyword="STOP",
    )  # fmt: skip
    assert scope_state(stored) == ScopeState(
        Scope.SENDER, HIGH, Status.OPTED_OUT, Source.AGENT, "U1", SINCE,
        rule="agent_opt_out", message_text="STOP please", keyword="STOP",
    )  # fmt: skip
    account = SimpleNamespace(**{**vars(stored), "scope_key": ACCOUNT, "source": None})
    state = scope_state(account)
    assert (state.scope, state.sender, state.source) == (Scope.ACCOUNT, None, None)


def _ctx(source: Source = Source.CONTACT, text: str | None = "STOP") -> Context:
    return Context(CONTACT, HIGH, source, "twilio", NOW, text=text)


def _decision(transition: Transition, reply: str | None = "Bye.") -> Decision:
    return Decision(transition, Scope.SENDER, "r", "v1", reply=reply, keyword="STOP")


def test_record_writes_the_plan_and_answers_with_the_new_status() -> None:
    ledger = FakeLedger()
    decided = _decision(Transition.OPT_OUT)
    with ledger.contact(CONTACT) as tx:
        outcome, steps = record(tx, {}, decided, _ctx())
    assert outcome.decision is decided and not outcome.duplicate
    assert outcome.changed and outcome.reply == "Bye." and outcome.review_id is None
    assert outcome.event_id == 1 == len(ledger.events)
    assert not outcome.status.can_send and outcome.status.scope is Scope.SENDER
    assert ledger.consent[(CONTACT, HIGH)]["status"] == "opted_out" and steps.changed


def test_record_of_an_opt_in_names_the_last_event() -> None:
    ledger = FakeLedger()
    with ledger.contact(CONTACT) as tx:
        record(tx, {}, _decision(Transition.OPT_OUT), _ctx())
        record(tx, {}, Decision(Transition.OPT_OUT, Scope.ACCOUNT, "r", "v1"), _ctx())
        rows = tx.scope_rows(CONTACT)
        outcome, _ = record(tx, rows, _decision(Transition.OPT_IN, "Back."), _ctx(text="START"))
    assert outcome.event_id == 4 and outcome.status.can_send and outcome.reply == "Back."
    assert [e["action"] for e in ledger.events] == ["opt_out", "opt_out", "opt_in", "opt_in"]


def test_record_of_a_refusal_stores_the_event_and_sends_no_reply() -> None:
    ledger = FakeLedger()
    rows = {HIGH: row(HIGH, Status.OPTED_OUT)}
    with ledger.contact(CONTACT) as tx:
        outcome, steps = record(tx, rows, _decision(Transition.OPT_IN), _ctx(Source.AGENT))
    assert steps.refused and outcome.reply is None and not outcome.changed
    assert outcome.event_id == 1 and ledger.events[0]["action"] == "refused"
    assert not outcome.status.can_send and ledger.consent == {}


def test_record_of_a_review_opens_the_item_and_names_it() -> None:
    ledger = FakeLedger()
    with ledger.contact(CONTACT) as tx:
        outcome, _ = record(tx, {}, _decision(Transition.REVIEW, None), _ctx(text="remove me"))
    assert outcome.review_id == 1 and outcome.event_id == 1 and not outcome.changed
    assert ledger.reviews[0]["message_text"] == "remove me" and outcome.status.can_send


def test_record_of_nothing_writes_nothing_and_keeps_the_reply() -> None:
    ledger = FakeLedger()
    with ledger.contact(CONTACT) as tx:
        outcome, _ = record(tx, {}, _decision(Transition.HELP, "Help text."), _ctx(text="HELP"))
    assert (outcome.event_id, outcome.review_id, outcome.changed) == (None, None, False)
    assert outcome.reply == "Help text." and ledger.events == [] and ledger.reviews == []
