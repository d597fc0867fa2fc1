"""The interfaces the core needs from outside, implemented elsewhere (rules/, ledger/, fakes)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import NamedTuple, Protocol

from core.model import (
    Decision,
    DecisionRequest,
    InboundMessage,
    Outcome,
    Reply,
    Scope,
    ScopeState,
)
from core.records import (
    ConsentEvent,
    ConsentWrite,
    EventRecord,
    MessageRecord,
    OutboxItem,
    OutboxRecord,
    ReviewItem,
    ReviewRecord,
)


class TextMatch(Protocol):
    """What a Decider found in a text before any stored state was read (opaque to the core)."""

    @property
    def version(self) -> str:
        """The rules version that matched the text."""
        ...


class Decider(Protocol):
    """Something that turns facts into a Decision and never acts on it (rules/ implements it).

    A contact's text is decided in two steps: match(text), the costly part, needs no stored
    state and runs before the contact's write lock is taken; decide(request, matched) then
    adds the stored state's facts inside it.
    """

    @property
    def version(self) -> str:
        """The sha256 of the rules in force, recorded with every event."""
        ...

    def match(self, text: str) -> TextMatch:
        """Match a contact's text with the rules in force (pure: no stored state, no lock)."""
        ...

    def decide(self, request: DecisionRequest, matched: TextMatch | None = None) -> Decision:
        """Return the decision for these facts (with `matched`, the text is not matched again)."""
        ...

    def carrier_scope(self, carrier: str) -> Scope:
        """What an opt-out this carrier reports covers: the sender number, or the account."""
        ...


class RulesInfo(Protocol):
    """What the doors read of the rules in force (/healthz, /metrics, the banner)."""

    @property
    def version(self) -> str:
        """The sha256 of the rules in force."""
        ...

    @property
    def backend(self) -> str:
        """The evaluator family deciding: "durable" or "python"."""
        ...

    @property
    def evaluator(self) -> str:
        """Which evaluator decides and why: "durable-rules 2.0.28" or "python (...)"."""
        ...

    @property
    def loaded_at(self) -> datetime:
        """When the rules in force were loaded."""
        ...

    @property
    def last_error(self) -> str | None:
        """Why the file on disk was last refused (the last good rules decide), else None."""
        ...

    @property
    def reloads(self) -> int:
        """Rules files loaded after a change since start."""
        ...

    @property
    def failures(self) -> int:
        """Changed rules files refused since start."""
        ...

    def refresh(self, timeout: float) -> bool:
        """Have the file looked at now, waiting at most `timeout` seconds."""
        ...


class Notices(Protocol):
    """Tells people about a recorded text (Slack's channel notices); never blocks, never raises."""

    def message_received(self, message: InboundMessage, outcome: Outcome) -> None:
        """Queue the notice or review card this outcome calls for, if any."""
        ...

    def close(self) -> None:
        """Send what is queued (bounded wait) and stop."""


Clock = Callable[[], datetime]


class MessageAnswer(NamedTuple):
    """The stored answer to a carrier's message (what a retry of it is told)."""

    transition: str
    rule: str
    reply: str | None


class ContactTransaction(Protocol):
    """The reads and writes of one contact's transaction, under that contact's write lock."""

    def scope_rows(self, contact: str) -> dict[str, ScopeState]:
        """Every consent row of a contact, keyed by scope key (sender number or '*')."""
        ...

    def find_message(self, carrier: str, message_id: str) -> MessageAnswer | None:
        """The stored answer to a carrier's message, if it was already handled."""
        ...

    def add_event(self, event: EventRecord) -> int:
        """Append one event (the log is never updated) and return its id."""
        ...

    def add_review(self, review: ReviewRecord) -> int:
        """Open a review item and return its id."""
        ...

    def upsert_scopes(self, scopes: Sequence[ConsentWrite]) -> None:
        """Insert each consent row, or replace the one already there for its scope."""
        ...

    def add_message(self, message: MessageRecord) -> None:
        """Record a handled message and its answer; DuplicateMessage when it is there already."""
        ...

    def add_reply(self, reply: OutboxRecord) -> None:
        """Queue a reply in the outbox, in this transaction; nothing when the text has one."""
        ...


class ReviewTransaction(ContactTransaction, Protocol):
    """A contact's transaction that also closes one of its review items."""

    def close_review(self, review_id: int, decision: str, decided_by: str, at: datetime) -> bool:
        """Close an open review item; False when someone else closed it first."""
        ...

    def get_review(self, review_id: int) -> ReviewItem | None:
        """One review item, as this transaction sees it."""
        ...


class ImportChunk(Protocol):
    """One chunk of an import: the contacts' rows read, then (unless a dry run) the writes."""

    def scope_rows_of(self, contacts: Sequence[str]) -> dict[str, dict[str, ScopeState]]:
        """The consent rows of these contacts, by contact then scope key."""
        ...

    def store(self, events: Sequence[EventRecord], scopes: Sequence[ConsentWrite]) -> None:
        """Append the events and write the consent rows, in this chunk's transaction."""
        ...


class CsvChunks(Protocol):
    """The opted-out list as CSV bytes in chunks; `rows` counts the data rows yielded so far."""

    rows: int

    def __iter__(self) -> Iterator[bytes]:
        """The header's bytes, then the rows', in large chunks."""
        ...


class Ledger(Protocol):
    """Where consent is stored (ledger/ implements it on SQLite and PostgreSQL)."""

    def scope_rows(self, contact: str) -> dict[str, ScopeState]:
        """Every consent row of a contact, keyed by scope key, in a read."""
        ...

    def opted_out_contacts(self, scope_keys: Iterable[str]) -> set[str]:
        """Every contact with an opt-out in any of these scopes."""
        ...

    def events_of(self, contact: str, limit: int) -> list[ConsentEvent]:
        """A contact's events, newest first."""
        ...

    def find_reviews(self, contact: str | None, state: str, limit: int | None) -> list[ReviewItem]:
        """Review items by state ("open", "closed", "all"): open oldest first, then decided."""
        ...

    def get_review(self, review_id: int) -> ReviewItem | None:
        """One review item, open or decided."""
        ...

    def ping(self) -> str:
        """'ok' when the ledger answers, else a short description of the failure."""
        ...

    def contact(self, contact: str) -> AbstractContextManager[ContactTransaction]:
        """One transaction holding this contact's write lock (a contact's text, a command)."""
        ...

    def deciding(self, contact: str) -> AbstractContextManager[ReviewTransaction]:
        """One transaction holding this contact's write lock, for a review decision."""
        ...

    def import_chunk(
        self, contacts: Sequence[str], *, write: bool
    ) -> AbstractContextManager[ImportChunk]:
        """A chunk's transaction: with `write`, holding these contacts' locks; else a read."""
        ...

    def export_optouts(
        self, since: datetime | None, sender: str | None, until: datetime | None
    ) -> Iterator[tuple[str, ...]]:
        """The header, then one row per opted-out scope, streamed; `until` is exclusive."""
        ...

    def export_csv(
        self, since: datetime | None, sender: str | None, until: datetime | None
    ) -> CsvChunks:
        """The same list as CSV bytes built by the database."""
        ...


class Outbox(Protocol):
    """The queued replies, as a sending worker takes them (ledger/outbox.py implements it).

    Every change after the claim names the attempt it belongs to (`attempts`), so a worker
    whose lease ran out cannot overwrite what the worker that took the row over did.
    """

    def claim(self, now: datetime, lease_seconds: float, limit: int) -> list[OutboxItem]:
        """Take the due replies (pending, or sending past the lease) and mark them sending."""
        ...

    def mark_sent(self, item: OutboxItem, at: datetime) -> bool:
        """Record that the carrier took the reply; False when the claim was lost."""
        ...

    def reschedule(self, item: OutboxItem, at: datetime, error: str) -> bool:
        """Put the reply back as pending, due at `at`; False when the claim was lost."""
        ...

    def drop(self, item: OutboxItem, at: datetime, reason: str) -> bool:
        """Give the reply up for good, recording why; False when the claim was lost."""
        ...


class SendFailed(Exception):
    """A carrier's API did not take a reply; `retry`: trying again may work (network, 429, 5xx)."""

    def __init__(self, detail: str, *, retry: bool, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry = retry
        self.retry_after = retry_after  # seconds the carrier asked for (429's Retry-After)


class ReplySender(Protocol):
    """One carrier's messaging API (outbound/ implements one per carrier)."""

    def send(self, reply: Reply) -> None:
        """Send the text once; SendFailed when the carrier did not take it."""
        ...
