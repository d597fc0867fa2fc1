"""The opted-out list streamed out of the ledger as CSV, safe to open in a spreadsheet.

Two ways out, giving the same CSV: `export_optouts` yields rows (tuples) for callers that want
values, and `CsvExport` streams the file's bytes. For those the database builds the CSV, not
Python: on SQLite each line is one SQL expression (csv.writer's QUOTE_MINIMAL quoting, formula
neutralisation, ISO timestamps, CRLF); on PostgreSQL `COPY (SELECT ...) TO STDOUT WITH (FORMAT
csv)` quotes the cells and its rows pass through as bytes. Python only moves large chunks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from core.db import Database
from core.model import ACCOUNT, Scope, Status
from core.tables import consent

EXPORT_HEADER = (
    "phone", "scope", "sender", "opted_out_by", "actor", "at",
    "message_text", "keyword", "rule", "reason",
)  # fmt: skip
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str | None) -> str:
    """A free-text cell that a spreadsheet will not run as a formula (OWASP's CSV advice)."""
    if not cell:
        return ""
    return "'" + cell if cell.startswith(_FORMULA_PREFIXES) else cell


def export_optouts(
    database: Database, since: datetime | None = None, sender: str | None = None
) -> Iterator[tuple[str, ...]]:
    """Yield the header, then one row per opted-out scope, streamed from the database."""
    query = select(
        consent.c.contact, consent.c.scope_key, consent.c.source, consent.c.actor,
        consent.c.since, consent.c.message_text, consent.c.keyword, consent.c.rule,
        consent.c.reason,
    ).where(consent.c.status == Status.OPTED_OUT.value)  # fmt: skip
    if since is not None:
        query = query.where(consent.c.since >= since)
    if sender is not None:
        query = query.where(consent.c.scope_key.in_([sender, ACCOUNT]))
    query = query.order_by(consent.c.since, consent.c.contact, consent.c.scope_key)
    with database.stream() as conn:
        # The query runs before the header is yielded, so a database that is down fails
        # the first step (a clean 503) instead of cutting a CSV off after its header.
        result = conn.execute(query)
        yield EXPORT_HEADER
        for row in result:
            account = row.scope_key == ACCOUNT
            yield (
                row.contact,
                Scope.ACCOUNT.value if account else Scope.SENDER.value,
                "" if account else row.scope_key,
                row.source or "",
                neutralise(row.actor),
                row.since.isoformat(),
                neutralise(row.message_text),
                neutralise(row.keyword),
                neutralise(row.rule),
                neutralise(row.reason),
            )


# --- the CSV built by the database ---------------------------------------------------------

HEADER_LINE = (",".join(EXPORT_HEADER) + "\r\n").encode()
CHUNK_ROWS = 4000  # rows per chunk (about 400 KB): few Python steps per megabyte
_ORDER = "ORDER BY since, contact, scope_key"
_SCOPE = (
    f"CASE WHEN scope_key = '{ACCOUNT}' THEN '{Scope.ACCOUNT.value}' "
    f"ELSE '{Scope.SENDER.value}' END"
)
# csv.writer (QUOTE_MINIMAL) quotes a cell that holds the delimiter, the quote, CR or LF.
_SQLITE_NEEDS_QUOTES = "'*[\",\n\r]*'"
_SQLITE_FORMULA = "unicode({0}) IN (" + ", ".join(str(ord(c)) for c in _FORMULA_PREFIXES) + ")"


def _sqlite_cell(column: str) -> str:
    """A cell as csv.writer writes it (NULL as nothing)."""
    return (
        f"CASE WHEN {column} GLOB {_SQLITE_NEEDS_QUOTES} "
        f"THEN '\"' || replace({column}, '\"', '\"\"') || '\"' ELSE coalesce({column}, '') END"
    )


def _sqlite_free_cell(column: str) -> str:
    """neutralise() of a free-text cell, then written as csv.writer does."""
    # Doubling quotes never changes the first character, so both tests read the stored text.
    formula = _SQLITE_FORMULA.format(column)
    return (
        f"CASE WHEN {column} GLOB {_SQLITE_NEEDS_QUOTES} THEN '\"' || "
        f"CASE WHEN {formula} THEN '''' ELSE '' END || replace({column}, '\"', '\"\"') || '\"' "
        f"WHEN {formula} THEN '''' || {column} ELSE coalesce({column}, '') END"
    )


# SQLAlchemy stores a time on SQLite as naive UTC 'YYYY-MM-DD HH:MM:SS.ffffff'; isoformat()
# of the aware value has a 'T', drops a zero fraction and ends in the offset.
_SQLITE_AT = (
    "CASE WHEN substr(since, 20) IN ('', '.000000') THEN replace(substr(since, 1, 19), ' ', 'T') "
    "ELSE replace(since, ' ', 'T') END || '+00:00'"
)
SQLITE_LINE = " || ',' || ".join(
    [
        _sqlite_cell("contact"),
        _SCOPE,
        f"CASE WHEN scope_key = '{ACCOUNT}' THEN '' ELSE {_sqlite_cell('scope_key')} END",
        _sqlite_cell("source"),
        _sqlite_free_cell("actor"),
        _SQLITE_AT,
        _sqlite_free_cell("message_text"),
        _sqlite_free_cell("keyword"),
        _sqlite_free_cell("rule"),
        _sqlite_free_cell("reason"),
    ]
)
_POSTGRES_FORMULA = ", ".join(f"chr({ord(c)})" for c in _FORMULA_PREFIXES)


def _postgres_free_cell(column: str) -> str:
    """neutralise() of a free-text cell (COPY does the quoting)."""
    return (
        f"NULLIF(CASE WHEN left({column}, 1) IN ({_POSTGRES_FORMULA}) THEN '''' || {column} "
        f"ELSE {column} END, '')"
    )


# COPY writes NULL as an empty cell but an empty string as "", where csv.writer writes
# nothing for both: every empty cell goes out as NULL.
POSTGRES_COLUMNS = ", ".join(
    [
        "NULLIF(contact, '')",
        _SCOPE,
        f"CASE WHEN scope_key = '{ACCOUNT}' THEN NULL ELSE NULLIF(scope_key, '') END",
        "NULLIF(source, '')",
        _postgres_free_cell("actor"),
        "to_char(since AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
        "date_trunc('second', since) = since THEN '' ELSE to_char(since AT TIME ZONE 'UTC', "
        "'.US') END || '+00:00'",
        _postgres_free_cell("message_text"),
        _postgres_free_cell("keyword"),
        _postgres_free_cell("rule"),
        _postgres_free_cell("reason"),
    ]
)


class CsvExport:
    """The opted-out list as CSV bytes, header first, in chunks of CHUNK_ROWS rows.

    The bytes equal csv.writer's output of `export_optouts`; `rows` counts the data rows
    yielded so far. The query runs before the header is yielded, so a database that is down
    fails the first step (a clean 503) instead of cutting a file off after its header.
    """

    def __init__(
        self, database: Database, since: datetime | None = None, sender: str | None = None
    ) -> None:
        self.database = database
        self.since = since
        self.sender = sender
        self.rows = 0

    def __iter__(self) -> Iterator[bytes]:
        with self.database.stream() as conn, _driver_errors():
            driver = conn.connection.driver_connection  # inside SQLAlchemy's transaction
            if self.database.dialect == "postgresql":
                yield from self._postgresql(driver)
            else:
                yield from self._sqlite(driver)

    def _sqlite(self, driver: Any) -> Iterator[bytes]:
        where, params = ["status = ?"], [Status.OPTED_OUT.value]
        if self.since is not None:
            # A time as SQLAlchemy stores it: naive UTC with six fraction digits.
            stored = self.since.astimezone(UTC).replace(tzinfo=None)
            where.append("since >= ?")
            params.append(stored.isoformat(sep=" ", timespec="microseconds"))
        if self.sender is not None:
            where.append("scope_key IN (?, ?)")
            params += [self.sender, ACCOUNT]
        query = (
            f"SELECT CAST({SQLITE_LINE} || char(13, 10) AS BLOB) FROM consent "
            f"WHERE {' AND '.join(where)} {_ORDER}"
        )
        cursor = driver.cursor()
        try:
            cursor.execute(query, params)
            yield HEADER_LINE
            while lines := cursor.fetchmany(CHUNK_ROWS):
                self.rows += len(lines)
                yield b"".join([line for (line,) in lines])
        finally:
            cursor.close()

    def _postgresql(self, driver: Any) -> Iterator[bytes]:
        from psycopg import sql

        where = [sql.SQL("status = {}").format(Status.OPTED_OUT.value)]
        if self.since is not None:
            where.append(sql.SQL("since >= {}").format(self.since))
        if self.sender is not None:
            where.append(sql.SQL("scope_key IN ({}, {})").format(self.sender, ACCOUNT))
        query = sql.SQL(
            "COPY (SELECT {} FROM consent WHERE {} {}) TO STDOUT WITH (FORMAT csv)"
        ).format(sql.SQL(POSTGRES_COLUMNS), sql.SQL(" AND ").join(where), sql.SQL(_ORDER))
        with driver.cursor() as cursor:
            # A COPY is one statement: the session's limit (meant for the hook's short
            # queries) would cut a long export off. And UTF-8 whatever the server's default.
            cursor.execute("SET LOCAL statement_timeout = 0")
            cursor.execute("SET LOCAL client_encoding = 'UTF8'")
            with cursor.copy(query) as copy:
                yield HEADER_LINE
                # The server sends each row as one message ending in "\n", where csv.writer
                # ends rows with "\r\n" (a newline inside a quoted cell stays as it is).
                batch: list[Any] = []
                for row in copy:
                    batch.append(row[:-1])
                    if len(batch) == CHUNK_ROWS:
                        self.rows += len(batch)
                        yield b"\r\n".join(batch) + b"\r\n"
                        batch = []
                if batch:
                    self.rows += len(batch)
                    yield b"\r\n".join(batch) + b"\r\n"


@contextmanager
def _driver_errors() -> Iterator[None]:
    # The driver's own errors reach Database's handling (a lost ledger is a 503) as
    # SQLAlchemy's would.
    import sqlite3

    import psycopg

    try:
        yield
    except (sqlite3.Error, psycopg.Error) as exc:
        raise DBAPIError.instance(None, None, exc, type(exc)) from exc
