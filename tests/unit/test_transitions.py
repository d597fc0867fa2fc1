"""The consent transition as a pure function: what each decision writes, and what it refuses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.model import ACCOUNT, Decision, Scope, ScopeState, Source, Status, Transition
from core.planning import CONTACT_ONLY, Context, plan

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
SENDER = "+12065550199"


def decision(transition: Transition, scope: Scope = Scope.SENDER) -> Decision:
    return Decision(transition, scope, "rule", "v1", keyword="STOP")


def ctx(source: Source = Source.CONTACT, scope: Scope | None = None) -> Context:
    return Context("+12065550100", SENDER, source, "actor", NOW, text="STOP", scope=scope)


def out(by: Source, scope: Scope = Scope.SENDER) -> ScopeState:
    sender = None if scope is Scope.ACCOUNT else SENDER
    return ScopeState(scope, sender, Status.OPTED_OUT, by, "someone", NOW)


def test_an_opt_out_writes_the_row_and_one_event() -> None:
    steps = plan({}, decision(Transition.OPT_OUT), ctx())
    (row,) = steps.scopes
    assert row.scope_key == SENDER and row.status == "opted_out" and row.source == "contact"
    (event,) = steps.events
    assert (event.previous_status, event.new_status) == ("subscribed", "opted_out")


def test_an_account_opt_out_uses_the_account_key() -> None:
    steps = plan({}, decision(Transition.OPT_OUT, Scope.ACCOUNT), ctx())
    assert steps.scopes[0].scope_key == ACCOUNT


def test_a_contacts_opt_in_lifts_both_blocking_rows() -> None:
    rows = {SENDER: out(Source.CONTACT), ACCOUNT: out(Source.AGENT, Scope.ACCOUNT)}
    steps = plan(rows, decision(Transition.OPT_IN), ctx())
    assert sorted(r.scope_key for r in steps.scopes) == sorted([SENDER, ACCOUNT])
    assert all(r.status == "subscribed" for r in steps.scopes)


@pytest.mark.parametrize("source", [Source.AGENT, Source.API, Source.IMPORT])
def test_nobody_but_the_contact_lifts_a_contacts_opt_out(source: Source) -> None:
    rows = {SENDER: out(Source.CONTACT)}
    steps = plan(rows, decision(Transition.OPT_IN), ctx(source, Scope.SENDER))
    assert steps.refused == CONTACT_ONLY and not steps.scopes
    assert steps.events[0].action == "refused"


def test_an_agent_lifts_only_the_scope_it_asked_for() -> None:
    rows = {SENDER: out(Source.AGENT), ACCOUNT: out(Source.AGENT, Scope.ACCOUNT)}
    steps = plan(rows, decision(Transition.OPT_IN, Scope.ACCOUNT), ctx(Source.AGENT, Scope.SENDER))
    assert [r.scope_key for r in steps.scopes] == [SENDER]


def test_a_review_opens_an_item_with_its_deadline_and_changes_nothing() -> None:
    steps = plan({}, decision(Transition.REVIEW), ctx())
    assert steps.review is not None and steps.review.deadline == datetime(
        2026, 12, 10, 12, tzinfo=UTC
    )
    assert not steps.changed and steps.events[0].action == "review_opened"


@pytest.mark.parametrize("transition", [Transition.HELP, Transition.NONE])
def test_help_and_none_write_nothing(transition: Transition) -> None:
    steps = plan({}, decision(transition), ctx())
    assert not steps.scopes and not steps.events and steps.review is None
