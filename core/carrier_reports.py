"""What a carrier itself reports: a text it flagged as STOP/START/HELP, a send refused as opted out.

The carrier already acted on both (it blocks the number from now on, or lifted its block), so
the ledger follows it even where rules.yml would not have: the decision is the one the rules
give the carrier's keyword, recorded under the carrier's rule name (`carrier:twilio:STOP`),
with both readings in the event's reason when they differ.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from core.carriers import id_format
from core.model import (
    CarrierFlag,
    Decision,
    DecisionRequest,
    DeliveryStatus,
    Outcome,
    Scope,
    Source,
    Transition,
)
from core.phone import carrier_number
from core.planning import Context
from core.ports import Clock, Decider, Ledger
from core.recording import blocked, consent_status, record, replayed
from core.records import MessageRecord
from core.text import RESUBSCRIBE_WORDS, clean_name, clean_text


def carrier_rule(carrier: str, what: str) -> str:
    """The rule name recorded for what a carrier decided: carrier:twilio:STOP, carrier:plivo:200."""
    return f"carrier:{carrier}:{what}"


def flagged(
    decider: Decider, carrier: str, flag: CarrierFlag, request: DecisionRequest, decided: Decision
) -> tuple[Decision, str | None]:
    """The decision for a text the carrier flagged, and the reason to record when they differ."""
    keyword = flag.value
    # The rules' own answer to the carrier's keyword: a START from a contact who never opted
    # out changes nothing, a STOP from one already opted out neither, as for a typed keyword.
    as_keyword = decider.decide(replace(request, text=keyword), decider.match(keyword))
    if as_keyword.transition in (decided.transition, Transition.NONE):
        decision, reason = decided, None  # the rules heard what the carrier heard, or no more
    else:
        decision = replace(as_keyword, rule=carrier_rule(carrier, keyword))
        reason = (
            f"{carrier} flagged this text {keyword} (its own opt-out handling acted on it); "
            f"rules.yml decided {decided.transition.value} by rule {decided.rule}"
        )
    if decision.transition is Transition.OPT_OUT and flag is CarrierFlag.STOP:
        decision = replace(decision, scope=_wider(decision.scope, decider.carrier_scope(carrier)))
    return decision, reason


def refused(decider: Decider, status: DeliveryStatus, meaning: str) -> tuple[Decision, str]:
    """The opt-out a carrier's "recipient opted out" refusal means, and the reason to record."""
    decision = Decision(
        transition=Transition.OPT_OUT,
        scope=decider.carrier_scope(status.carrier),
        rule=carrier_rule(status.carrier, status.code or ""),
        rules_version=decider.version,
        keyword=None,
    )
    message = f"message {status.message_id}" if status.message_id else "a message"
    reason = (
        f"{status.carrier} refused {message} with error {status.code} ({meaning}): the contact "
        f"opted out at the carrier; only the contact can undo it, by texting {RESUBSCRIBE_WORDS}"
    )
    return decision, reason


@dataclass(frozen=True, slots=True)
class Reporting:
    """What recording a carrier's report needs of the service."""

    ledger: Ledger
    decider: Decider
    clock: Clock
    region: str


def record_opt_out(
    at: Reporting, status: DeliveryStatus, meaning: str, reported_by: str | None
) -> Outcome:
    """Record the contact's own opt-out a carrier reported (once per refused message)."""
    # A JSON string may hold a lone surrogate or a NUL, which the ledger cannot store: the
    # numbers as received are kept cleaned, as a text's are (ConsentService.receive_message).
    status = replace(
        status, contact=clean_text(status.contact) or "", sender=clean_text(status.sender) or ""
    )
    contact = carrier_number(status.contact, at.region).key
    sender = carrier_number(status.sender, at.region).key
    if status.message_id:
        id_format(status.carrier).check(status.message_id)
    decision, reason = refused(at.decider, status, meaning)
    if reported_by:
        reason = f"{reason} (reported by {clean_name(reported_by)})"
    with at.ledger.contact(contact) as cursor:
        prior = status.message_id and cursor.find_message(status.carrier, status.message_id)
        if prior:
            return replayed(cursor, prior, contact, sender, at.decider.version)
        rows = cursor.scope_rows(contact)
        if blocked(rows, sender, decision.scope):
            nothing = replace(decision, transition=Transition.NONE)
            outcome = Outcome(nothing, False, None, consent_status(contact, sender, rows))
        else:
            ctx = Context(
                contact=contact,
                sender=sender,
                source=Source.CONTACT,
                actor=status.carrier,
                now=at.clock(),
                reason=reason,
                carrier=status.carrier,
                carrier_message_id=status.message_id or None,
                contact_received=clean_text(status.contact),
                sender_received=clean_text(status.sender),
            )
            outcome, _ = record(cursor, rows, decision, ctx)
        if status.message_id:
            cursor.add_message(MessageRecord.reported(status, contact, sender, outcome))
        return outcome


def _wider(a: Scope, b: Scope) -> Scope:
    return Scope.ACCOUNT if Scope.ACCOUNT in (a, b) else Scope.SENDER
