"""Deciding one text from Python as if the contact's consent were in a given state."""

from __future__ import annotations

from core.model import Decision, DecisionRequest, Scope, ScopeFacts, Source, Status
from core.ports import Decider


def try_text(
    holder_or_engine: Decider,
    text: str,
    *,
    sender: str | None = None,
    contact: str | None = None,
    status: str | Status = Status.SUBSCRIBED,
    by: str | Source | None = None,
    scope: str | Scope | None = None,
) -> Decision:
    """Decide on a contact's text as if the contact's row (sender's, else account's) had `status`.

    `contact` is accepted for the CLI's sake; the rules never depend on who the contact is.
    """
    del contact
    state = Status(status)
    source = Source(by) if by is not None and state is Status.OPTED_OUT else None
    if state is Status.OPTED_OUT and source is None:
        source = Source.CONTACT
    facts = ScopeFacts(state, source)
    where = Scope(scope) if scope else (Scope.SENDER if sender else Scope.ACCOUNT)
    plain = ScopeFacts()
    request = DecisionRequest(
        actor=Source.CONTACT,
        sender=sender,
        sender_state=facts if where is Scope.SENDER else plain,
        account_state=facts if where is Scope.ACCOUNT else plain,
        text=text,
    )
    return holder_or_engine.decide(request)
