"""Carrying out a decision inside a transaction, and reading a contact's status from its rows."""

from __future__ import annotations

from typing import Any

from core.model import (
    ACCOUNT,
    Command,
    ConsentStatus,
    Decision,
    DecisionRequest,
    Outcome,
    Scope,
    ScopeFacts,
    ScopeState,
    Source,
    Status,
    Transition,
)
from core.planning import Context, Plan, plan
from core.ports import ContactTransaction, MessageAnswer


def facts(rows: dict[str, ScopeState], key: str | None) -> ScopeFacts:
    """What the rules see of one scope row (subscribed when there is none)."""
    state = rows.get(key) if key is not None else None
    if state is None:
        return ScopeFacts()
    return ScopeFacts(
        status=state.status, opted_out_by=state.source if state.status is Status.OPTED_OUT else None
    )


def scope_state(row: Any) -> ScopeState:
    """A consent row (any object with the consent table's column names) as a ScopeState."""
    scope = Scope.ACCOUNT if row.scope_key == ACCOUNT else Scope.SENDER
    return ScopeState(
        scope=scope,
        sender=None if scope is Scope.ACCOUNT else row.scope_key,
        status=Status(row.status),
        source=Source(row.source) if row.source else None,
        actor=row.actor,
        since=row.since,
        rule=row.rule,
        message_text=row.message_text,
        keyword=row.keyword,
    )


def request_for(
    rows: dict[str, ScopeState],
    actor: Source,
    sender: str | None,
    *,
    text: str | None = None,
    command: Command | None = None,
) -> DecisionRequest:
    """The facts the rules decide on, from a contact's rows and what was asked."""
    return DecisionRequest(
        actor=actor,
        sender=sender,
        sender_state=facts(rows, sender),
        account_state=facts(rows, ACCOUNT),
        text=text,
        command=command,
        scope=None if command is None else (Scope.SENDER if sender else Scope.ACCOUNT),
    )


def record(
    cursor: ContactTransaction, rows: dict[str, ScopeState], decision: Decision, ctx: Context
) -> tuple[Outcome, Plan]:
    """Write what the decision means (rows, events, a review item) and say what it did."""
    steps = plan(rows, decision, ctx)
    review_id = cursor.add_review(steps.review) if steps.review else None
    event_id = None
    for event in steps.events:
        event_id = cursor.add_event(event)
    cursor.upsert_scopes(steps.scopes)
    after = cursor.scope_rows(ctx.contact) if steps.changed else rows
    reply = decision.reply if not steps.refused else None
    status = consent_status(ctx.contact, ctx.sender, after)
    return Outcome(decision, steps.changed, reply, status, event_id, review_id), steps


def replayed(
    cursor: ContactTransaction,
    prior: MessageAnswer,
    contact: str,
    sender: str | None,
    version: str,
) -> Outcome:
    """What a retried carrier delivery is told: the first answer, and the consent as it is now."""
    decision = Decision(
        transition=Transition(prior.transition),
        scope=Scope.SENDER,
        rule=prior.rule,
        rules_version=version,
        reply=prior.reply,
    )
    rows = cursor.scope_rows(contact)
    return Outcome(
        decision, False, prior.reply, consent_status(contact, sender, rows), duplicate=True
    )


def blocked(rows: dict[str, ScopeState], sender: str, scope: Scope) -> bool:
    """True when an opt-out already covers this sender in this scope (the account's covers all)."""
    keys = (ACCOUNT,) if scope is Scope.ACCOUNT else (sender, ACCOUNT)
    return any(k in rows and rows[k].status is Status.OPTED_OUT for k in keys)


def consent_status(contact: str, sender: str | None, rows: dict[str, ScopeState]) -> ConsentStatus:
    """A contact's consent as seen from a sender (or the account): the account's opt-out first."""
    account = rows.get(ACCOUNT)
    own = rows.get(sender) if sender else None
    blocking = [s for s in (account, own) if s is not None and s.status is Status.OPTED_OUT]
    first = blocking[0] if blocking else None
    ordered = sorted(rows.values(), key=lambda s: (s.scope is not Scope.ACCOUNT, s.sender or ""))
    return ConsentStatus(
        phone=contact,
        sender=sender,
        status=Status.OPTED_OUT if first else Status.SUBSCRIBED,
        can_send=first is None,
        opted_out_by=first.source if first else None,
        scope=first.scope if first else None,
        since=first.since if first else None,
        scopes=tuple(ordered),
    )
