"""The core's Ledger port on a Database: the same transactions, SQL and locks as before."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from core.errors import DuplicateMessage
from core.model import ScopeState
from core.recording import scope_state
from core.records import ConsentEvent, ConsentWrite, EventRecord, MessageRecord, ReviewItem
from ledger import export
from ledger import queries as sql
from ledger.cursor import LedgerCursor, contact_transaction
from ledger.db import Database
from ledger.rows import rows
from ledger.tables import consent


class _Tracked(LedgerCursor):
    """A contact's cursor that remembers the message it recorded (to name a duplicate)."""

    message: tuple[str, str] | None = None

    def add_message(self, message: MessageRecord) -> None:
        """Record a handled message and its answer."""
        self.message = (message.carrier, message.message_id)
        super().add_message(message)


class _Deciding(_Tracked):
    """A contact's cursor inside a SQLAlchemy write, which also closes review items."""

    def __init__(self, database: Database, conn: Connection) -> None:
        base = LedgerCursor.of(database, conn)
        super().__init__(base.cursor, base.sql)
        self.conn = conn

    def close_review(self, review_id: int, decision: str, decided_by: str, at: datetime) -> bool:
        """Close an open review item; False when someone else closed it first."""
        return sql.close_review(self.conn, review_id, decision, decided_by, at)

    def get_review(self, review_id: int) -> ReviewItem | None:
        """One review item, as this transaction sees it."""
        return sql.get_review(self.conn, review_id)


class _Chunk:
    """One import chunk's transaction on a SQLAlchemy connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def scope_rows_of(self, contacts: Sequence[str]) -> dict[str, dict[str, ScopeState]]:
        """The consent rows of these contacts, by contact then scope key."""
        result: dict[str, dict[str, ScopeState]] = {}
        query = select(consent).where(consent.c.contact.in_(list(contacts)))
        for row in self.conn.execute(query):
            result.setdefault(row.contact, {})[row.scope_key] = scope_state(row)
        return result

    def store(self, events: Sequence[EventRecord], scopes: Sequence[ConsentWrite]) -> None:
        """Append the events and write the consent rows."""
        sql.add_events(self.conn, rows(events))
        sql.upsert_scopes(self.conn, rows(scopes))


class SqlLedger:
    """The Ledger port on SQLite or PostgreSQL (a database error never leaves it as one)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def scope_rows(self, contact: str) -> dict[str, ScopeState]:
        """Every consent row of a contact, keyed by scope key, in a read."""
        with self.database.read() as conn:
            return sql.scope_rows(conn, contact)

    def opted_out_contacts(self, scope_keys: Iterable[str]) -> set[str]:
        """Every contact with an opt-out in any of these scopes."""
        with self.database.read() as conn:
            return sql.opted_out_contacts(conn, scope_keys)

    def events_of(self, contact: str, limit: int) -> list[ConsentEvent]:
        """A contact's events, newest first."""
        with self.database.read() as conn:
            return sql.events_of(conn, contact, limit)

    def find_reviews(self, contact: str | None, state: str, limit: int | None) -> list[ReviewItem]:
        """Review items by state: open oldest first, then decided, the latest first."""
        with self.database.read() as conn:
            return sql.find_reviews(conn, contact, state, limit)

    def get_review(self, review_id: int) -> ReviewItem | None:
        """One review item, open or decided."""
        with self.database.read() as conn:
            return sql.get_review(conn, review_id)

    def ping(self) -> str:
        """'ok' when the database answers, else a short description of the failure."""
        return self.database.ping()

    @contextmanager
    def contact(self, contact: str) -> Iterator[_Tracked]:
        """The hot path's transaction: raw cursor, compiled statements, pipelined opening."""
        tracked: _Tracked | None = None
        try:
            with contact_transaction(self.database, contact, _Tracked) as cursor:
                assert isinstance(cursor, _Tracked)
                tracked = cursor
                yield cursor
        except IntegrityError:
            # The one unique key a contact's writes can meet is a carrier's message id (the
            # consent rows are upserted); PostgreSQL's pipeline may report it at commit.
            if tracked is None or tracked.message is None:
                raise
            raise DuplicateMessage(*tracked.message) from None

    @contextmanager
    def deciding(self, contact: str) -> Iterator[_Deciding]:
        """A write holding this contact's lock, for a review decision."""
        with self.database.write([contact]) as conn:
            yield _Deciding(self.database, conn)

    @contextmanager
    def import_chunk(self, contacts: Sequence[str], *, write: bool) -> Iterator[_Chunk]:
        """A chunk's transaction: with `write`, holding these contacts' locks; else a read."""
        opened = self.database.write(contacts) if write else self.database.read()
        with opened as conn:
            yield _Chunk(conn)

    def export_optouts(
        self, since: datetime | None, sender: str | None, until: datetime | None
    ) -> Iterator[tuple[str, ...]]:
        """The header, then one row per opted-out scope, streamed; `until` is exclusive."""
        return export.export_optouts(self.database, since, sender, until)

    def export_csv(
        self, since: datetime | None, sender: str | None, until: datetime | None
    ) -> export.CsvExport:
        """The same list as CSV bytes built by the database."""
        return export.CsvExport(self.database, since, sender, until)
