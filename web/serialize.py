"""Domain values as JSON-ready dicts: the API's response shapes in one place."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.model import ConsentStatus, Outcome
from core.records import ConsentEvent, ReviewItem


def iso(moment: datetime | None) -> str | None:
    """ISO-8601 in UTC; a naive time (as SQLite returns it) is taken to be UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _value(item: object) -> str | None:
    return None if item is None else str(item)


def status_json(status: ConsentStatus) -> dict[str, Any]:
    """A contact's consent as seen from one sender."""
    return {
        "phone": status.phone,
        "sender": status.sender,
        "status": str(status.status),
        "can_send": status.can_send,
        "opted_out_by": _value(status.opted_out_by),
        "scope": _value(status.scope),
        "since": iso(status.since),
    }


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    """What an opt-out or opt-in did."""
    decision = outcome.decision
    return {
        **status_json(outcome.status),
        "changed": outcome.changed,
        "transition": str(decision.transition),
        "rule": decision.rule,
        "rules_version": decision.rules_version,
        "event_id": outcome.event_id,
    }


def event_json(event: ConsentEvent) -> dict[str, Any]:
    """One line of the ledger."""
    return {
        "id": event.id,
        "at": iso(event.at),
        "contact": event.contact,
        "sender": event.sender,
        "scope": str(event.scope),
        "action": str(event.action),
        "previous_status": _value(event.previous_status),
        "new_status": _value(event.new_status),
        "source": str(event.source),
        "actor": event.actor,
        "message_text": event.message_text,
        "keyword": event.keyword,
        "rule": event.rule,
        "rules_version": event.rules_version,
        "carrier": event.carrier,
        "carrier_message_id": event.carrier_message_id,
        "reason": event.reason,
        "contact_received": event.contact_received,
        "sender_received": event.sender_received,
    }


def review_json(item: ReviewItem) -> dict[str, Any]:
    """An open review item."""
    return {
        "id": item.id,
        "contact": item.contact,
        "sender": item.sender,
        "message_text": item.message_text,
        "phrase": item.phrase,
        "opened_at": iso(item.opened_at),
        "deadline": iso(item.deadline),
        "status": item.status,
        "decision": item.decision,
        "decided_by": item.decided_by,
        "decided_at": iso(item.decided_at),
        "carrier": item.carrier,
        "carrier_message_id": item.carrier_message_id,
    }
