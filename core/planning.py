"""The consent transition as a pure function: (rows, decision, actor, clock) → writes and events."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from core.calendar import add_business_days
from core.errors import NotAllowed
from core.model import ACCOUNT, Action, Decision, Scope, ScopeState, Source, Status, Transition
from core.records import ConsentWrite, EventRecord, ReviewRecord
from core.text import CONTACT_ONLY


@dataclass(frozen=True, slots=True)
class Context:
    """What an action is about: the contact, the sender, the actor and the words that caused it."""

    contact: str
    sender: str | None
    source: Source
    actor: str
    now: datetime
    text: str | None = None
    reason: str | None = None
    carrier: str | None = None
    carrier_message_id: str | None = None
    contact_received: str | None = None  # the numbers as the carrier wrote them
    sender_received: str | None = None
    scope: Scope | None = None  # the scope an agent's, the API's or an import's command asked for


@dataclass(slots=True)
class Plan:
    """What to write for one decision: consent rows, events, and a review item to open."""

    scopes: list[ConsentWrite] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    review: ReviewRecord | None = None
    refused: str | None = None

    @property
    def changed(self) -> bool:
        """True when a consent row changes."""
        return bool(self.scopes)


def plan(rows: dict[str, ScopeState], decision: Decision, ctx: Context) -> Plan:
    """Turn a decision into the writes that carry it out; refuse what the seed's rule forbids."""
    result = Plan()
    if decision.transition is Transition.OPT_OUT:
        key = _key(ctx.scope or decision.scope, ctx.sender)
        _set(result, rows, key, Status.OPTED_OUT, decision, ctx)
    elif decision.transition is Transition.OPT_IN:
        for key in _opt_in_keys(rows, decision.scope, ctx):
            state = rows.get(key)
            if ctx.source is not Source.CONTACT and state and state.source is Source.CONTACT:
                # Defence in depth: whatever the rules say, only the contact undoes their opt-out.
                return _refuse(decision, ctx, CONTACT_ONLY)
            _set(result, rows, key, Status.SUBSCRIBED, decision, ctx)
    elif decision.transition is Transition.REVIEW:
        result.review = ReviewRecord(
            contact=ctx.contact,
            sender=ctx.sender,
            message_text=ctx.text or "",
            phrase=decision.keyword,
            opened_at=ctx.now,
            deadline=add_business_days(ctx.now),
            carrier=ctx.carrier,
            carrier_message_id=ctx.carrier_message_id,
        )
        result.events.append(event(decision, ctx, Action.REVIEW_OPENED, decision.scope, None, None))
    elif decision.transition is Transition.REFUSE:
        return _refuse(decision, ctx, decision.reason or "refused by the rules")
    return result


def _key(scope: Scope, sender: str | None) -> str:
    if scope is Scope.SENDER and sender is not None:
        return sender
    return ACCOUNT


def _opt_in_keys(rows: dict[str, ScopeState], scope: Scope, ctx: Context) -> list[str]:
    if ctx.source is Source.CONTACT:
        # A contact's START makes them reachable from the number they texted: it lifts that
        # number's opt-out and an account-wide one.
        keys = [k for k in (ctx.sender, ACCOUNT) if k is not None]
    else:
        keys = [_key(ctx.scope or scope, ctx.sender)]
    return [k for k in keys if k in rows and rows[k].status is Status.OPTED_OUT]


def _set(
    result: Plan,
    rows: dict[str, ScopeState],
    key: str,
    status: Status,
    decision: Decision,
    ctx: Context,
) -> None:
    previous = rows[key].status if key in rows else Status.SUBSCRIBED
    scope = Scope.ACCOUNT if key == ACCOUNT else Scope.SENDER
    action = Action.OPT_OUT if status is Status.OPTED_OUT else Action.OPT_IN
    changed = event(decision, ctx, action, scope, previous, status)
    result.events.append(changed)
    result.scopes.append(ConsentWrite.left_by(changed, key, status))


def _refuse(decision: Decision, ctx: Context, why: str) -> Plan:
    reason = why if not ctx.reason else f"{why} (request: {ctx.reason})"
    asked = replace(ctx, reason=reason)
    refused = event(decision, asked, Action.REFUSED, decision.scope, None, None)
    return Plan(events=[refused], refused=why)


def event(
    decision: Decision,
    ctx: Context,
    action: Action,
    scope: Scope,
    previous: Status | None,
    new: Status | None,
) -> EventRecord:
    """One event of the log, as it is to be appended."""
    return EventRecord(
        at=ctx.now,
        contact=ctx.contact,
        sender=ctx.sender,
        scope=scope,
        action=action,
        previous_status=previous,
        new_status=new,
        source=ctx.source,
        actor=ctx.actor,
        message_text=ctx.text,
        keyword=decision.keyword,
        rule=decision.rule,
        rules_version=decision.rules_version,
        carrier=ctx.carrier,
        carrier_message_id=ctx.carrier_message_id,
        reason=ctx.reason,
        contact_received=ctx.contact_received,
        sender_received=ctx.sender_received,
    )


def refusal(plan_: Plan) -> NotAllowed | None:
    """The error to raise after a refused plan was recorded."""
    return NotAllowed(plan_.refused) if plan_.refused else None
