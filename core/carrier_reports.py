"""What a carrier itself reports: a text it flagged as STOP/START/HELP, a send refused as opted out.

The carrier already acted on both (it blocks the number from now on, or lifted its block), so
the ledger follows it even where rules.yml would not have: the decision is the one the rules
give the carrier's keyword, recorded under the carrier's rule name (`carrier:twilio:STOP`),
with both readings in the event's reason when they differ.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from core.carriers import CARRIERS, OPTED_OUT_CODES, id_format, opted_out_meaning
from core.errors import InvalidInput, InvalidPhoneNumber
from core.model import (
    ACCOUNT,
    CarrierFlag,
    Decision,
    DecisionRequest,
    DeliveryStatus,
    Outcome,
    Scope,
    Source,
    Transition,
)
from core.phone import CarrierNumber, carrier_number, region_of
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
    as_keyword = decider.decide(replace(request, text=keyword))  # a keyword: matched at once
    if as_keyword.transition in (decided.transition, Transition.NONE) or (
        decided.transition is Transition.OPT_OUT  # a flag never undoes a revocation heard
    ):
        decision, reason = decided, None  # the rules heard what the carrier heard, or more
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
        rule=carrier_rule(status.carrier, str(status.code)),
        rules_version=decider.version,
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
    sent_by = business_number(status.sender, at.region)
    region = region_of(sent_by.e164 if sent_by else None, at.region)
    contact = carrier_number(status.contact, region).key  # read as the texted number's region
    if status.message_id:
        id_format(status.carrier).check(status.message_id)
    decision, reason = refused(at.decider, status, meaning)
    sender = sent_by.key if sent_by else None
    if sender is None:
        # Sent from an alphanumeric sender ID (AcmeInc), which no text can answer, or a report
        # that names no sender (Sinch's without a default originator: ACCOUNT): the contact
        # opted out of the business, so of every number (a 400 would lose it).
        decision = replace(decision, scope=Scope.ACCOUNT)
        sent_from = (f"was sent from {clean_text(status.sender)!r}, not a number"
                     if status.sender != ACCOUNT else "names no sender number")  # fmt: skip
        reason = (f"{reason}; the refused message {sent_from}, so the opt-out covers every "
                  "number of the account")  # fmt: skip
        sender = ACCOUNT
    view = None if sender == ACCOUNT else sender  # the status as seen from that number
    if reported_by:
        reason = f"{reason} (reported by {clean_name(reported_by)})"
    with at.ledger.contact(contact) as cursor:
        prior = status.message_id and cursor.find_message(status.carrier, status.message_id)
        if prior:
            return replayed(cursor, prior, contact, view, at.decider.version)
        rows = cursor.scope_rows(contact)
        if blocked(rows, sender, decision.scope):
            nothing = replace(decision, transition=Transition.NONE)
            outcome = Outcome(nothing, False, None, consent_status(contact, view, rows))
        else:
            ctx = Context(
                contact=contact,
                sender=view,
                source=Source.CONTACT,
                actor=status.carrier,
                now=at.clock(),
                reason=reason,
                carrier=status.carrier,
                carrier_message_id=status.message_id or None,
                contact_received=clean_text(status.contact),
                sender_received=None if status.sender == ACCOUNT else clean_text(status.sender),
            )
            outcome, _ = record(cursor, rows, decision, ctx)
        if status.message_id:
            cursor.add_message(MessageRecord.reported(status, contact, sender, outcome))
        return outcome


def refusal_meaning(status: DeliveryStatus, where: str = "") -> str:
    """What a reported refusal's code means; InvalidInput saying what to fix when it is not one.

    `where` starts each message ("refusal 2 of 3: ") when the refusal came in a list.
    """
    if status.carrier not in CARRIERS:
        raise InvalidInput(
            f"{where}unknown carrier {status.carrier!r}",
            detail=f"{where}carrier {status.carrier!r} is not one stopline knows; use one of "
            f"{', '.join(CARRIERS)}. Nothing was recorded.",
        )
    meaning = opted_out_meaning(status.carrier, status.code)
    if meaning is None:
        known = ", ".join(sorted(OPTED_OUT_CODES[status.carrier]))
        raise InvalidInput(
            f"{where}{status.carrier} error {status.code} does not say the recipient opted out",
            detail=f"{where}{status.carrier} error {status.code!r} is not an opted-out refusal, "
            f"so nothing was recorded. The codes understood for {status.carrier}: {known}.",
        )
    try:
        carrier_number(status.contact)  # refused only without digits; the sender may be a name
        if status.message_id:
            id_format(status.carrier).check(status.message_id, "message_id")
    except (InvalidInput, InvalidPhoneNumber) as exc:
        raise InvalidInput(f"{where}{exc.message}", detail=f"{where}{exc.detail}") from None
    return meaning


def business_number(raw: str, region: str) -> CarrierNumber | None:
    """The number a message was sent from; None for a sender ID that is a name (AcmeInc)."""
    try:
        return carrier_number(raw, region)
    except InvalidPhoneNumber:
        return None


def _wider(a: Scope, b: Scope) -> Scope:
    return Scope.ACCOUNT if Scope.ACCOUNT in (a, b) else Scope.SENDER
