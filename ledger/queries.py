"""The ledger's SQL: consent rows, events, messages and review items, on a connection."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from core.model import Action, Scope, ScopeState, Source, Status
from core.recording import facts, scope_state
from core.records import ConsentEvent, ReviewItem
from ledger.tables import CONSENT_UPSERT_KEYS, consent, consent_events, review_items


def scope_rows(conn: Connection, contact: str) -> dict[str, ScopeState]:
    """Every consent row of a contact, keyed by scope key (sender number or '*')."""
    rows = conn.execute(select(consent).where(consent.c.contact == contact)).all()
    return {row.scope_key: scope_state(row) for row in rows}


def upsert_scopes(conn: Connection, values: Sequence[dict[str, Any]]) -> None:
    """Write consent rows: insert each, or replace the existing row for its contact and scope."""
    if not values:
        return
    stmt: Any = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(consent)
    stmt = stmt.on_conflict_do_update(
        index_elements=["contact", "scope_key"],
        set_={k: stmt.excluded[k] for k in CONSENT_UPSERT_KEYS},
    )
    conn.execute(stmt, list(values))


def add_events(conn: Connection, events: Sequence[dict[str, Any]]) -> None:
    """Append events to the log (never updated, never deleted)."""
    if events:
        conn.execute(insert(consent_events), list(events))


def opted_out_contacts(conn: Connection, scope_keys: Iterable[str]) -> set[str]:
    """Every contact with an opt-out in any of these scopes."""
    query = select(consent.c.contact).where(
        and_(consent.c.scope_key.in_(list(scope_keys)), consent.c.status == Status.OPTED_OUT.value)
    )
    return set(conn.execute(query).scalars())


def events_of(conn: Connection, contact: str, limit: int) -> list[ConsentEvent]:
    """A contact's events, newest first."""
    query = (
        select(consent_events)
        .where(consent_events.c.contact == contact)
        .order_by(consent_events.c.id.desc())
        .limit(limit)
    )
    return [_event(row) for row in conn.execute(query)]


def _event(row: Row[Any]) -> ConsentEvent:
    return ConsentEvent(
        id=row.id,
        at=row.at,
        contact=row.contact,
        sender=row.sender,
        scope=Scope(row.scope),
        action=Action(row.action),
        previous_status=Status(row.previous_status) if row.previous_status else None,
        new_status=Status(row.new_status) if row.new_status else None,
        source=Source(row.source),
        actor=row.actor,
        message_text=row.message_text,
        keyword=row.keyword,
        rule=row.rule,
        rules_version=row.rules_version,
        carrier=row.carrier,
        carrier_message_id=row.carrier_message_id,
        reason=row.reason,
        contact_received=row.contact_received,
        sender_received=row.sender_received,
    )


def get_review(conn: Connection, review_id: int) -> ReviewItem | None:
    """One review item."""
    row = conn.execute(select(review_items).where(review_items.c.id == review_id)).first()
    return _review(row) if row else None


def find_reviews(
    conn: Connection, contact: str | None, state: str, limit: int | None
) -> list[ReviewItem]:
    """Review items by state ("open", "closed" or "all"): open ones oldest first (the nearest
    deadline first), then decided ones, the latest decision first."""
    query = select(review_items)
    if state != "all":
        query = query.where(review_items.c.status == state)
    if contact is not None:
        query = query.where(review_items.c.contact == contact)
    query = query.order_by(
        review_items.c.decided_at.is_not(None), review_items.c.decided_at.desc(),
        review_items.c.id,
    )  # fmt: skip
    if limit is not None:
        query = query.limit(limit)
    return [_review(row) for row in conn.execute(query)]


def close_review(
    conn: Connection, review_id: int, decision: str, decided_by: str, at: datetime
) -> bool:
    """Close an open review item; False when someone else closed it first."""
    result = conn.execute(
        update(review_items)
        .where(and_(review_items.c.id == review_id, review_items.c.status == "open"))
        .values(status="closed", decision=decision, decided_by=decided_by, decided_at=at)
    )
    return result.rowcount == 1


def _review(row: Row[Any]) -> ReviewItem:
    return ReviewItem(
        id=row.id,
        contact=row.contact,
        sender=row.sender,
        message_text=row.message_text,
        phrase=row.phrase,
        opened_at=row.opened_at,
        deadline=row.deadline,
        carrier=row.carrier,
        carrier_message_id=row.carrier_message_id,
        status=row.status,
        decision=row.decision,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
    )


__all__ = [
    "add_events", "close_review", "events_of", "facts", "find_reviews", "get_review",
    "opted_out_contacts", "scope_rows", "scope_state", "upsert_scopes",
]  # fmt: skip
