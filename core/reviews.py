"""Closing a review item: the first agent's decision counts, and is recorded with that agent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from core.errors import Conflict, InvalidInput, NotFound
from core.model import Action, Actor, Decision, Scope, Source, Transition
from core.planning import Context, event
from core.ports import Ledger
from core.recording import record
from core.records import ReviewItem
from core.text import clean_name

MAX_ID = 2**62  # beyond any id the ledger hands out (and below its BIGINT's limit)
# What a caller may ask for, and the ledger's state for each ("closed" is stored).
STATES = {"open": "open", "decided": "closed", "all": "all", "closed": "closed"}
FILTERS = ("open", "decided", "all")  # as documented; "closed" (the stored word) works too
MAX_LIST = 10_000


def ledger_state(status: str) -> str:
    """The stored state for a filter ("open", "decided", "all"); InvalidInput naming them."""
    state = STATES.get(status) if isinstance(status, str) else None
    if state is None:
        raise InvalidInput(
            f'review status "{str(status)[:40]}" is not one of {", ".join(FILTERS)}',
            detail=f"status={str(status)[:40]!r} is not a review status: use one of "
            f"{', '.join(FILTERS)} (open is the default).",
        )
    return state


def check_limit(limit: int | None) -> int | None:
    """A list's limit, from 1 to MAX_LIST; InvalidInput otherwise."""
    if limit is not None and not 1 <= limit <= MAX_LIST:
        raise InvalidInput(f"limit={limit} must be a whole number from 1 to {MAX_LIST}.")
    return limit


def decide_review(
    ledger: Ledger,
    rules_version: str,
    clock: Callable[[], datetime],
    review_id: int,
    opt_out: bool,
    actor: Actor,
) -> ReviewItem:
    """Close an open review item; a second decision is a Conflict naming who decided first."""
    if not 0 < review_id < MAX_ID:
        raise NotFound(f"there is no review item {review_id}")
    actor = Actor(actor.source, clean_name(actor.name))
    item = ledger.get_review(review_id)
    if item is None:
        raise NotFound(f"there is no review item {review_id}")
    with ledger.deciding(item.contact) as cursor:
        now = clock()
        verdict = "opt_out" if opt_out else "not_opt_out"
        if not cursor.close_review(review_id, verdict, actor.name, now):
            current = cursor.get_review(review_id)
            raise Conflict(review_id, current.decided_by if current else None)
        decision = Decision(
            transition=Transition.OPT_OUT if opt_out else Transition.NONE,
            scope=Scope.SENDER if item.sender else Scope.ACCOUNT,
            rule=f"review:{verdict}",
            rules_version=rules_version,
            keyword=item.phrase,
        )
        # A confirmed plain-words request is the contact's own opt-out (only the contact may
        # undo it); the agent who read it is the actor.
        ctx = Context(
            contact=item.contact, sender=item.sender, source=Source.CONTACT, actor=actor.name,
            now=now, text=item.message_text,
            reason=f"review {item.id} decided by {actor.source.value} {actor.name}",
        )  # fmt: skip
        record(cursor, cursor.scope_rows(item.contact), decision, ctx)
        closed = event(decision, replace(ctx, source=actor.source), Action.REVIEW_CLOSED,
                       decision.scope, None, None)  # fmt: skip
        cursor.add_event(closed)
        result = cursor.get_review(review_id)
    assert result is not None
    return result
