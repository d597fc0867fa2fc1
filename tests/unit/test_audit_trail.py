"""Every field the planner writes, for each kind of transition: the consent row, the event, the
review item. Whole records are compared, so a field dropped or filled from the wrong place fails."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.model import ACCOUNT, Action, Decision, Scope, ScopeState, Source, Status, Transition
from core.planning import CONTACT_ONLY, Context, plan, refusal
from core.records import ConsentWrite, EventRecord, ReviewRecord

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)  # Thanksgiving: the deadline skips it
CONTACT, SENDER, OTHER = "+12065550100", "+12065550199", "+12065550198"


def ctx(source: Source = Source.CONTACT, **changes: object) -> Context:
    values: dict[str, object] = {
        "contact": CONTACT, "sender": SENDER, "source": source, "actor": "twilio", "now": NOW,
        "text": "Stop texting me", "reason": None, "carrier": "twilio",
        "carrier_message_id": "SM" + "1" * 32, "contact_received": "(206) 555-0100",
        "sender_received": "+1 206 555 0199",
    }  # fmt: skip
    values.update(changes)
    return Context(**values)  # type: ignore[arg-type]


def decision(transition: Transition, scope: Scope = Scope.SENDER, **changes: object) -> Decision:
    values: dict[str, object] = {
        "transition": transition, "scope": scope, "rule": "opt_out_words", "rules_version": "v7",
        "reply": "You are unsubscribed.", "keyword": "STOP", "reason": None,
    }  # fmt: skip
    values.update(changes)
    return Decision(**values)  # type: ignore[arg-type]


def state(key: str, status: Status, source: Source | None = Source.CONTACT) -> ScopeState:
    scope = Scope.ACCOUNT if key == ACCOUNT else Scope.SENDER
    sender = None if key == ACCOUNT else key
    return ScopeState(scope, sender, status, source, "earlier", datetime(2026, 1, 2, tzinfo=UTC))


def event(c: Context, d: Decision, action: Action, scope: Scope, **changes: object) -> EventRecord:
    """The event the planner must write, every field from its source."""
    values: dict[str, object] = {
        "at": c.now, "contact": c.contact, "sender": c.sender, "scope": scope, "action": action,
        "previous_status": None, "new_status": None, "source": c.source, "actor": c.actor,
        "message_text": c.text, "keyword": d.keyword, "rule": d.rule,
        "rules_version": d.rules_version, "carrier": c.carrier,
        "carrier_message_id": c.carrier_message_id, "reason": c.reason,
        "contact_received": c.contact_received, "sender_received": c.sender_received,
    }  # fmt: skip
    values.update(changes)
    return EventRecord(**values)  # type: ignore[arg-type]


def write(c: Context, d: Decision, key: str, status: Status) -> ConsentWrite:
    """The consent row the planner must write."""
    return ConsentWrite(
        contact=c.contact, scope_key=key, status=status, source=c.source, actor=c.actor,
        since=c.now, rule=d.rule, keyword=d.keyword, message_text=c.text, reason=c.reason,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("scope", "key", "rows"),
    [
        (Scope.SENDER, SENDER, {}),
        (Scope.ACCOUNT, ACCOUNT, {}),
        # an agent's opt-out of the number is replaced by the contact's own
        (Scope.SENDER, SENDER, {SENDER: state(SENDER, Status.OPTED_OUT, Source.AGENT)}),
        # a row of another number is left alone
        (Scope.SENDER, SENDER, {OTHER: state(OTHER, Status.OPTED_OUT)}),
    ],
    ids=["sender", "account", "over-an-agents", "beside-another-number"],
)
def test_an_opt_out_writes_every_field(
    scope: Scope, key: str, rows: dict[str, ScopeState]
) -> None:
    c, d = ctx(), decision(Transition.OPT_OUT, scope)
    steps = plan(rows, d, c)
    previous = rows[key].status if key in rows else Status.SUBSCRIBED
    assert steps.scopes == [write(c, d, key, Status.OPTED_OUT)]
    assert steps.events == [
        event(c, d, Action.OPT_OUT, scope, previous_status=previous, new_status=Status.OPTED_OUT)
    ]
    assert steps.review is None and steps.refused is None and steps.changed
    assert refusal(steps) is None


def test_an_agents_opt_out_records_the_agent_the_scope_asked_for_and_the_reason() -> None:
    c = ctx(Source.AGENT, actor="U0AGENT", text=None, reason="asked on a call",
            carrier=None, carrier_message_id=None, contact_received=None, sender_received=None,
            scope=Scope.ACCOUNT)  # fmt: skip
    d = decision(Transition.OPT_OUT, Scope.SENDER, keyword=None, rule="agent_opt_out")
    steps = plan({}, d, c)
    # The command's scope wins over the decision's.
    assert steps.scopes == [write(c, d, ACCOUNT, Status.OPTED_OUT)]
    assert steps.scopes[0].reason == "asked on a call" and steps.scopes[0].actor == "U0AGENT"
    changed = {"previous_status": Status.SUBSCRIBED, "new_status": Status.OPTED_OUT}
    assert steps.events == [event(c, d, Action.OPT_OUT, Scope.ACCOUNT, **changed)]


START = ctx(text="START"), decision(Transition.OPT_IN, keyword="START", rule="opt_in")


def test_stop_then_start_on_one_number_with_no_account_row() -> None:
    """The plainest case: STOP to one number (no account-wide row), then START."""
    c, d = START
    steps = plan({SENDER: state(SENDER, Status.OPTED_OUT)}, d, c)
    assert steps.scopes == [write(c, d, SENDER, Status.SUBSCRIBED)]
    lifted = {"previous_status": Status.OPTED_OUT, "new_status": Status.SUBSCRIBED}
    assert steps.events == [event(c, d, Action.OPT_IN, Scope.SENDER, **lifted)]


def test_a_contacts_start_lifts_the_number_then_the_account_in_that_order() -> None:
    c, d = START
    rows = {
        ACCOUNT: state(ACCOUNT, Status.OPTED_OUT, Source.AGENT),
        SENDER: state(SENDER, Status.OPTED_OUT),
        OTHER: state(OTHER, Status.OPTED_OUT),  # another number's opt-out stays
    }
    steps = plan(rows, d, c)
    assert steps.scopes == [
        write(c, d, SENDER, Status.SUBSCRIBED), write(c, d, ACCOUNT, Status.SUBSCRIBED)
    ]
    assert [(e.scope, e.previous_status, e.new_status) for e in steps.events] == [
        (Scope.SENDER, Status.OPTED_OUT, Status.SUBSCRIBED),
        (Scope.ACCOUNT, Status.OPTED_OUT, Status.SUBSCRIBED),
    ]


@pytest.mark.parametrize(
    "rows",
    [
        {},
        {SENDER: state(SENDER, Status.SUBSCRIBED)},
        {SENDER: state(SENDER, Status.SUBSCRIBED), ACCOUNT: state(ACCOUNT, Status.SUBSCRIBED)},
        {OTHER: state(OTHER, Status.OPTED_OUT)},
    ],
    ids=["no-rows", "number-subscribed", "both-subscribed", "only-another-number-out"],
)
@pytest.mark.parametrize("source", [Source.CONTACT, Source.AGENT, Source.API])
def test_a_start_from_someone_already_subscribed_writes_nothing(
    rows: dict[str, ScopeState], source: Source
) -> None:
    # Even if the rules said opt in, no row is rewritten and no opt_in event claims a change.
    steps = plan(rows, decision(Transition.OPT_IN, keyword="START"), ctx(source))
    assert steps.scopes == [] and steps.events == [] and not steps.changed


@pytest.mark.parametrize("source", [Source.AGENT, Source.API, Source.IMPORT])
def test_a_refused_opt_in_records_who_asked_and_why(source: Source) -> None:
    c = ctx(source, actor="U0AGENT", reason="customer called", scope=Scope.SENDER)
    d = decision(Transition.OPT_IN, rule="agent_opt_in")
    steps = plan({SENDER: state(SENDER, Status.OPTED_OUT)}, d, c)
    assert steps.scopes == [] and steps.refused == CONTACT_ONLY
    why = f"{CONTACT_ONLY} (request: customer called)"
    assert steps.events == [event(c, d, Action.REFUSED, Scope.SENDER, reason=why)]
    error = refusal(steps)
    assert error is not None and error.message == CONTACT_ONLY


def test_a_refusal_without_a_request_reason_records_the_rule_alone() -> None:
    c = ctx(Source.AGENT, actor="U0AGENT", scope=Scope.SENDER)
    d = decision(Transition.OPT_IN, rule="agent_opt_in")
    steps = plan({SENDER: state(SENDER, Status.OPTED_OUT)}, d, c)
    assert [e.reason for e in steps.events] == [CONTACT_ONLY]


@pytest.mark.parametrize(
    ("reason", "why"),
    [("contact opted out by text", "contact opted out by text"), (None, "refused by the rules")],
)
def test_a_refusal_by_the_rules_carries_their_reason(reason: str | None, why: str) -> None:
    c = ctx(Source.AGENT, actor="U0AGENT", reason="from the CRM")
    d = decision(Transition.REFUSE, Scope.ACCOUNT, reason=reason, reply=None)
    steps = plan({}, d, c)
    assert steps.refused == why and steps.scopes == []
    assert steps.events == [
        event(c, d, Action.REFUSED, Scope.ACCOUNT, reason=f"{why} (request: from the CRM)")
    ]


def test_a_review_opens_an_item_with_every_field_and_one_event() -> None:
    c = ctx(text="please take me off your list")
    d = decision(Transition.REVIEW, keyword="take me off", rule="plain_words")
    steps = plan({}, d, c)
    assert steps.review == ReviewRecord(
        contact=CONTACT, sender=SENDER, message_text="please take me off your list",
        phrase="take me off", opened_at=NOW, deadline=datetime(2026, 12, 10, 12, tzinfo=UTC),
        carrier="twilio", carrier_message_id="SM" + "1" * 32,
    )  # fmt: skip
    assert steps.events == [event(c, d, Action.REVIEW_OPENED, Scope.SENDER)]
    assert steps.scopes == [] and not steps.changed and steps.refused is None


def test_a_review_of_a_text_with_no_words_keeps_an_empty_text() -> None:
    steps = plan({}, decision(Transition.REVIEW), ctx(text=None, sender=None))
    assert steps.review is not None
    assert (steps.review.message_text, steps.review.sender) == ("", None)


@pytest.mark.parametrize("transition", [Transition.HELP, Transition.NONE])
def test_help_and_none_write_nothing(transition: Transition) -> None:
    steps = plan({SENDER: state(SENDER, Status.OPTED_OUT)}, decision(transition), ctx())
    assert (steps.scopes, steps.events, steps.review, steps.refused) == ([], [], None, None)
