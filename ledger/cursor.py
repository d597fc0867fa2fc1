"""A contact's write transaction on the driver's own connection, with statements built once.

The web hook, the API's and agents' opt-outs and review decisions all write through here:
one contact per transaction, under that contact's lock, with the statements of
ledger.statements (compiled once per dialect). Everything else uses SQLAlchemy directly.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from core.model import ScopeState
from core.ports import MessageAnswer
from core.recording import scope_state
from core.records import ConsentWrite, EventRecord, MessageRecord, OutboxRecord, ReviewRecord
from ledger.db import Database
from ledger.rows import outbox_row, review_row, row
from ledger.statements import Statement
from ledger.tables import (
    CONSENT_UPSERT_KEYS,
    consent,
    consent_events,
    contacts,
    inbound_messages,
    outbox,
    review_items,
)

_ROW = ("scope_key", "status", "source", "actor", "since", "rule", "message_text", "keyword")


class ConsentRow(NamedTuple):
    """A consent row as ledger.scope_state reads it."""

    scope_key: str
    status: str
    source: str | None
    actor: str | None
    since: datetime
    rule: str | None
    message_text: str | None
    keyword: str | None


MessageRow = MessageAnswer  # the stored answer to a carrier's message (core.ports names it)

Rows = list[tuple[Any, ...]]


def _insert_all(table: Any) -> Any:
    # Every column but an autoincrement key, each from a bind parameter of the same name.
    columns = [c for c in table.columns if not (c.primary_key and c.autoincrement is True)]
    return insert(table).values({c.name: bindparam(c.name, type_=c.type) for c in columns})


class Statements:
    """The hot statements of one dialect, compiled once per Database."""

    def __init__(self, dialect: Dialect) -> None:
        dialect_insert: Any = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
        upsert = dialect_insert(consent).values(
            {c.name: bindparam(c.name, type_=c.type) for c in consent.columns}
        )
        upsert = upsert.on_conflict_do_update(
            index_elements=["contact", "scope_key"],
            set_={k: upsert.excluded[k] for k in CONSENT_UPSERT_KEYS},
        )
        created = bindparam("created_at", type_=contacts.c.created_at.type)
        new_contact = dialect_insert(contacts).values(phone=bindparam("phone"), created_at=created)
        new_contact = new_contact.on_conflict_do_nothing(index_elements=["phone"])
        self.new_contact = Statement(new_contact, dialect)
        locked = select(contacts.c.phone).where(contacts.c.phone == bindparam("phone"))
        self.lock_contact = Statement(locked.with_for_update(), dialect)
        self.scope_rows = Statement(
            select(*(consent.c[name] for name in _ROW)).where(
                consent.c.contact == bindparam("contact")
            ),
            dialect,
        )
        self.find_message = Statement(
            select(
                inbound_messages.c.transition, inbound_messages.c.rule, inbound_messages.c.reply
            ).where(
                and_(
                    inbound_messages.c.carrier == bindparam("carrier"),
                    inbound_messages.c.message_id == bindparam("message_id"),
                )
            ),
            dialect,
        )
        self.upsert_scope = Statement(upsert, dialect)
        self.add_event = Statement(
            _insert_all(consent_events).returning(consent_events.c.id), dialect
        )
        self.add_review = Statement(_insert_all(review_items).returning(review_items.c.id), dialect)
        self.add_message = Statement(_insert_all(inbound_messages), dialect)
        # A second reply to one text is nothing (the first stays), never an error.
        queue = dialect_insert(outbox).values(
            {c.name: bindparam(c.name, type_=c.type) for c in outbox.columns if c.name != "id"}
        )
        self.add_reply = Statement(
            queue.on_conflict_do_nothing(index_elements=["carrier", "message_id"]), dialect
        )


class LedgerCursor:
    """The writes and reads of one contact's transaction, on a DB-API cursor."""

    def __init__(
        self, cursor: Any, statements: Statements, read_ahead: tuple[str, Rows] | None = None
    ) -> None:
        self.cursor = cursor
        self.sql = statements
        # A contact's consent rows read with the transaction's first statements; good until
        # anything is written.
        self._read_ahead = read_ahead

    @classmethod
    def of(cls, database: Database, conn: Connection) -> LedgerCursor:
        """A cursor inside a transaction SQLAlchemy opened (Database.write)."""
        return cls(conn.connection.driver_connection.cursor(), statements(database))  # type: ignore[union-attr]

    def scope_rows(self, contact: str) -> dict[str, ScopeState]:
        """Every consent row of a contact, keyed by scope key (sender number or '*')."""
        ahead, self._read_ahead = self._read_ahead, None
        if ahead is not None and ahead[0] == contact:
            rows = ahead[1]
        else:
            rows = self.sql.scope_rows.fetch_all(self.cursor, {"contact": contact})
        return {row[0]: scope_state(ConsentRow(*row)) for row in rows}

    def find_message(self, carrier: str, message_id: str) -> MessageRow | None:
        """The stored answer to a carrier's message, if it was already handled."""
        found = self.sql.find_message.fetch_one(
            self.cursor, {"carrier": carrier, "message_id": message_id}
        )
        return MessageRow(*found) if found is not None else None

    def add_event(self, event: EventRecord) -> int:
        """Append one event (the log is never updated) and return its id."""
        self._read_ahead = None
        values = row(event)
        return int(self.sql.add_event.fetch_all(self.cursor, values)[0][0])

    def add_review(self, review: ReviewRecord) -> int:
        """Open a review item and return its id."""
        self._read_ahead = None
        values = review_row(review)
        return int(self.sql.add_review.fetch_all(self.cursor, values)[0][0])

    def upsert_scopes(self, scopes: Sequence[ConsentWrite]) -> None:
        """Insert each consent row, or replace the one already there for its scope."""
        self._read_ahead = None
        for scope in scopes:
            self.sql.upsert_scope.run(self.cursor, row(scope))

    def add_message(self, message: MessageRecord) -> None:
        """Record a handled message and the answer given, for idempotent retries."""
        self._read_ahead = None
        self.sql.add_message.run(self.cursor, row(message))

    def add_reply(self, reply: OutboxRecord) -> None:
        """Queue a reply in the outbox, due now; nothing when its text has one already."""
        self._read_ahead = None
        self.sql.add_reply.run(self.cursor, outbox_row(reply))


_compiled: dict[tuple[str, str], Statements] = {}


def statements(database: Database) -> Statements:
    """The compiled statements of the database's dialect and driver (built on first use)."""
    dialect = database.engine.dialect
    found = _compiled.get((dialect.name, dialect.driver))
    if found is None:
        found = _compiled[(dialect.name, dialect.driver)] = Statements(dialect)
    return found


@contextmanager
def contact_transaction(
    database: Database, contact: str, kind: type[LedgerCursor] = LedgerCursor
) -> Iterator[LedgerCursor]:
    """One transaction holding this contact's write lock, on a pooled driver connection.

    The contact's row is made and locked and its consent rows read in one exchange with the
    database (PostgreSQL's pipeline: the fetch of the rows sends the statements before it).
    """
    sql = statements(database)

    def opening(raw: Any) -> tuple[Any, Rows]:
        cursor = raw.cursor()
        sql.new_contact.run(cursor, {"phone": contact, "created_at": datetime.now(UTC)})
        if database.dialect == "postgresql":
            sql.lock_contact.run(cursor, {"phone": contact})
        return cursor, sql.scope_rows.fetch_all(cursor, {"contact": contact})

    with database.raw_transaction(opening) as (_, (cursor, rows)):
        yield kind(cursor, sql, (contact, rows))
