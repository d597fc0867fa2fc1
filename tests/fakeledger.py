"""A hand-written in-memory Ledger (the port of core/ports.py), for service tests without SQL."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from enum import Enum
from types import SimpleNamespace
from typing import Any

from core import records as rec
from core.errors import DuplicateMessage
from core.model import Action, Scope, ScopeState, Source, Status
from core.ports import MessageAnswer
from core.recording import scope_state


def _plain(record: rec.ConsentWrite | rec.EventRecord | rec.MessageRecord) -> dict[str, Any]:
    # Stored as a database would hold it: plain values, an enum as its string.
    return {k: v.value if isinstance(v, Enum) else v for k, v in asdict(record).items()}


class FakeLedger:
    """Consent rows, events, reviews and messages in dicts; one transaction at a time."""

    def __init__(self) -> None:
        self.consent: dict[tuple[str, str], dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.reviews: list[dict[str, Any]] = []
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.outbox: dict[tuple[str, str], dict[str, Any]] = {}  # queued replies, one per text
        self.locked: list[str] = []  # the contact of each transaction, in order
        self._lock = threading.RLock()

    # --- reads ---------------------------------------------------------------------------
    def scope_rows(self, contact: str) -> dict[str, ScopeState]:
        """Every consent row of a contact, keyed by scope key."""
        with self._lock:
            return {
                key: scope_state(SimpleNamespace(**row))
                for (who, key), row in self.consent.items()
                if who == contact
            }

    def opted_out_contacts(self, scope_keys: Iterable[str]) -> set[str]:
        """Every contact with an opt-out in any of these scopes."""
        keys = set(scope_keys)
        with self._lock:
            return {
                who
                for (who, key), row in self.consent.items()
                if key in keys and row["status"] == Status.OPTED_OUT.value
            }

    def events_of(self, contact: str, limit: int) -> list[rec.ConsentEvent]:
        """A contact's events, newest first."""
        with self._lock:
            mine = [e for e in reversed(self.events) if e["contact"] == contact][:limit]
        return [_event(e) for e in mine]

    def find_reviews(
        self, contact: str | None, state: str, limit: int | None
    ) -> list[rec.ReviewItem]:
        """Open items oldest first, then decided ones, the latest decision first."""
        with self._lock:
            found = [
                r
                for r in self.reviews
                if (state == "all" or r["status"] == state)
                and (contact is None or r["contact"] == contact)
            ]
        opened = [r for r in found if r["decided_at"] is None]
        decided = sorted(
            (r for r in found if r["decided_at"] is not None),
            key=lambda r: (-r["decided_at"].timestamp(), r["id"]),
        )
        return [rec.ReviewItem(**r) for r in (opened + decided)[:limit]]

    def get_review(self, review_id: int) -> rec.ReviewItem | None:
        """One review item."""
        with self._lock:
            found = [r for r in self.reviews if r["id"] == review_id]
        return rec.ReviewItem(**found[0]) if found else None

    def ping(self) -> str:
        """Always 'ok'."""
        return "ok"

    # --- transactions ----------------------------------------------------------------------
    @contextmanager
    def contact(self, contact: str) -> Iterator[FakeLedger]:
        """A transaction: every write is undone when the block raises."""
        self.locked.append(contact)  # whose lock the transaction took, for the tests to check
        with self._lock:
            saved = copy.deepcopy(
                (self.consent, self.events, self.reviews, self.messages, self.outbox)
            )
            try:
                yield self
            except BaseException:
                self.consent, self.events, self.reviews, self.messages, self.outbox = saved
                raise

    deciding = contact

    @contextmanager
    def import_chunk(self, contacts: Sequence[str], *, write: bool) -> Iterator[FakeLedger]:
        """A chunk's transaction (a read when not `write`)."""
        with self.contact(contacts[0] if contacts else ""):
            yield self

    def scope_rows_of(self, contacts: Sequence[str]) -> dict[str, dict[str, ScopeState]]:
        """The consent rows of these contacts, by contact then scope key."""
        return {c: rows for c in contacts if (rows := self.scope_rows(c))}

    def store(self, events: Sequence[rec.EventRecord], scopes: Sequence[rec.ConsentWrite]) -> None:
        """Append the events and write the consent rows."""
        for event in events:
            self.add_event(event)
        self.upsert_scopes(scopes)

    def find_message(self, carrier: str, message_id: str) -> MessageAnswer | None:
        """The stored answer to a carrier's message."""
        row = self.messages.get((carrier, message_id))
        return MessageAnswer(row["transition"], row["rule"], row["reply"]) if row else None

    def add_event(self, event: rec.EventRecord) -> int:
        """Append one event; its id is its place in the log."""
        self.events.append({"id": len(self.events) + 1, **_plain(event)})
        return len(self.events)

    def add_review(self, review: rec.ReviewRecord) -> int:
        """Open a review item."""
        row = {"id": len(self.reviews) + 1, **asdict(review)}
        row.update(status="open", decision=None, decided_by=None, decided_at=None)
        self.reviews.append(row)
        return int(row["id"])

    def upsert_scopes(self, scopes: Sequence[rec.ConsentWrite]) -> None:
        """Insert or replace each consent row."""
        for scope in scopes:
            self.consent[(scope.contact, scope.scope_key)] = _plain(scope)

    def add_message(self, message: rec.MessageRecord) -> None:
        """Record a handled message; DuplicateMessage when it is there already."""
        key = (message.carrier, message.message_id)
        if key in self.messages:
            raise DuplicateMessage(*key)
        self.messages[key] = _plain(message)

    def add_reply(self, reply: rec.OutboxRecord) -> None:
        """Queue a reply; nothing when its text has one already (the first stays)."""
        key = (reply.carrier, reply.message_id)
        if key not in self.outbox:
            self.outbox[key] = {**asdict(reply), "status": "pending", "attempts": 0}

    def close_review(self, review_id: int, decision: str, decided_by: str, at: datetime) -> bool:
        """Close an open item; False when it was closed first."""
        for row in self.reviews:
            if row["id"] == review_id and row["status"] == "open":
                row.update(status="closed", decision=decision, decided_by=decided_by, decided_at=at)
                return True
        return False


def _event(row: dict[str, Any]) -> rec.ConsentEvent:
    values = dict(row)
    for key in ("previous_status", "new_status"):
        values[key] = Status(row[key]) if row[key] else None
    values.update(
        scope=Scope(row["scope"]), action=Action(row["action"]), source=Source(row["source"])
    )
    return rec.ConsentEvent(**values)


__all__ = ["FakeLedger"]
