"""The opted-out list streamed out of the ledger as CSV, safe to open in a spreadsheet.

Two ways out, giving the same CSV: `export_optouts` yields rows (tuples) for callers that want
values, and `CsvExport` streams the file's bytes. For those the database builds the CSV, not
Python: on SQLite each line is one SQL expression (csv.writer's QUOTE_MINIMAL quoting, formula
neutralisation, ISO timestamps, CRLF); on PostgreSQL `COPY (SELECT ...) TO STDOUT WITH (FORMAT
csv)` quotes the cells and its rows pass through as bytes. Python only moves large chunks.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from core.dates import check_window
from core.formulas import (
    neutralise,
    neutralise_number,
    postgres_cell,
    postgres_number_cell,
    sqlite_number_quote,
    sqlite_quote,
)
from core.model import ACCOUNT, Scope, Status
from ledger.db import Database
from ledger.formulas_sql import register_sqlite
from ledger.tables import consent

EXPORT_HEADER = (
    "phone", "scope", "sender", "opted_out_by", "actor", "at",
    "message_text", "keyword", "rule", "reason",
)  # fmt: skip


def export_optouts(
    database: Database,
    since: datetime | None = None,
    sender: str | None = None,
    until: datetime | None = None,
) -> Iterator[tuple[str, ...]]:
    """Yield the header, then one row per opted-out scope, streamed from the database."""
    check_window(since, until)
    query = select(
        consent.c.contact, consent.c.scope_key, consent.c.source, consent.c.actor,
        consent.c.since, consent.c.message_text, consent.c.keyword, consent.c.rule,
        consent.c.reason,
    ).where(consent.c.status == Status.OPTED_OUT.value)  # fmt: skip
    if since is not None:
        query = query.where(consent.c.since >= since)
    if until is not None:
        query = query.where(consent.c.since < until)
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
                neutralise_number(row.contact),
                Scope.ACCOUNT.value if account else Scope.SENDER.value,
                "" if account else neutralise_number(row.scope_key),
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
# On SQLite the database writes each row's cells, formulas neutralised, with one printf() call
# (SQLite's || would copy the growing line once per cell), between 0xFF bytes: a byte that
# UTF-8 text never holds. Python then makes CSV of a whole chunk at C speed: separators become
# commas, and the few rows with a cell that csv.writer would quote (one holding a comma, a
# quote, CR or LF) are found with bytes.find and quoted cell by cell.
_SEPARATOR = b"\xff"


def _sqlite_free(column: str) -> str:
    """neutralise() in SQL: a quote before the cell (NULL is printed as nothing)."""
    return f"{sqlite_quote(column)}, {column}"


_SQLITE_FORMAT = " || X'FF' || ".join(
    # phone, scope, sender, opted_out_by, actor, at, message_text, keyword, rule, reason
    ["'%s%s'", "'%s'", "'%s%s'", "'%s'", "'%s%s'", "'%s+00:00'", *["'%s%s'"] * 4]
)
_SQLITE_SENDER = f"CASE WHEN scope_key = '{ACCOUNT}' THEN NULL ELSE scope_key END"
SQLITE_CELLS = (
    f"printf({_SQLITE_FORMAT}, "
    + ", ".join(
        [
            f"{sqlite_number_quote('contact')}, contact",
            _SCOPE,
            f"CASE WHEN scope_key <> '{ACCOUNT}' THEN {sqlite_number_quote('scope_key')} END, "
            f"{_SQLITE_SENDER}",
            "source",
            _sqlite_free("actor"),
            # SQLAlchemy stores a time on SQLite as naive UTC 'YYYY-MM-DD HH:MM:SS.ffffff';
            # isoformat() of the aware value has a 'T', and no fraction when it is zero.
            "replace(replace(since, '.000000', ''), ' ', 'T')",
            _sqlite_free("message_text"),
            _sqlite_free("keyword"),
            _sqlite_free("rule"),
            _sqlite_free("reason"),
        ]
    )
    + ")"
)
_SEPARATORS = len(EXPORT_HEADER) - 1  # in every row
_TO_QUOTE = bytes.maketrans(b",\r\n", b'"""')  # each byte that makes csv.writer quote -> '"'
_TO_COMMAS = bytes.maketrans(_SEPARATOR, b",")


def csv_chunk(rows: list[bytes]) -> bytes:
    """Rows of cells from SQLITE_CELLS as CSV lines, quoted exactly as csv.writer quotes."""
    cells = b"".join(rows)
    if cells.count(_SEPARATOR) != _SEPARATORS * len(rows):
        _check_cells(rows)
    marked = cells.translate(_TO_QUOTE)
    if b'"' in marked:
        rows = _quote_rows(rows, marked)
    return (b"\r\n".join(rows) + b"\r\n").translate(_TO_COMMAS)


def _quote_rows(rows: list[bytes], marked: bytes) -> list[bytes]:
    # Only rows holding a byte to quote are split: the search jumps from one to the next.
    rows = list(rows)
    ends = list(accumulate(map(len, rows)))
    at = marked.find(b'"')
    while at >= 0:
        index = bisect_right(ends, at)
        rows[index] = _quoted_row(rows[index])
        at = marked.find(b'"', ends[index])
    return rows


def _quoted_row(row: bytes) -> bytes:
    return _SEPARATOR.join(
        b'"' + cell.replace(b'"', b'""') + b'"' if b'"' in cell.translate(_TO_QUOTE) else cell
        for cell in row.split(_SEPARATOR)
    )


def _check_cells(rows: list[bytes]) -> None:
    # A 0xFF byte in a cell can only come from text that is not UTF-8: refuse the
    # export rather than shift a row's cells.
    for row in rows:
        if row.count(_SEPARATOR) != _SEPARATORS:
            raise ValueError(f"the ledger holds text that is not UTF-8: {row[:60]!r}")


def postgres_columns() -> str:
    """The export's cells as PostgreSQL expressions, formulas neutralised (COPY quotes them)."""
    # COPY writes NULL as an empty cell but an empty string as "", where csv.writer writes
    # nothing for both: every empty cell goes out as NULL.
    return ", ".join(
        [
            postgres_number_cell("contact"),
            _SCOPE,
            f"CASE WHEN scope_key = '{ACCOUNT}' THEN NULL ELSE "
            f"{postgres_number_cell('scope_key')} END",
            "NULLIF(source, '')",
            postgres_cell("actor"),
            "to_char(since AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
            "date_trunc('second', since) = since THEN '' ELSE to_char(since AT TIME ZONE 'UTC', "
            "'.US') END || '+00:00'",
            postgres_cell("message_text"),
            postgres_cell("keyword"),
            postgres_cell("rule"),
            postgres_cell("reason"),
        ]
    )


class CsvExport:
    """The opted-out list as CSV bytes, header first, in chunks of CHUNK_ROWS rows.

    The bytes equal csv.writer's output of `export_optouts`; `rows` counts the data rows
    yielded so far. The query runs before the header is yielded, so a database that is down
    fails the first step (a clean 503) instead of cutting a file off after its header.
    """

    def __init__(
        self,
        database: Database,
        since: datetime | None = None,
        sender: str | None = None,
        until: datetime | None = None,
    ) -> None:
        check_window(since, until)  # refused before any query, as a clear 400
        self.database = database
        self.since = since
        self.until = until
        self.sender = sender
        self.rows = 0

    def __iter__(self) -> Iterator[bytes]:
        with self.database.stream() as conn, _driver_errors(self.database):
            driver = conn.connection.driver_connection  # inside SQLAlchemy's transaction
            if self.database.dialect == "postgresql":
                yield from self._postgresql(driver)
            else:
                yield from self._sqlite(driver)

    def _sqlite(self, driver: Any) -> Iterator[bytes]:
        where, params = ["status = ?"], [Status.OPTED_OUT.value]
        # A time as SQLAlchemy stores it: naive UTC with six fraction digits.
        for moment, test in ((self.since, "since >= ?"), (self.until, "since < ?")):
            if moment is not None:
                stored = moment.astimezone(UTC).replace(tzinfo=None)
                where.append(test)
                params.append(stored.isoformat(sep=" ", timespec="microseconds"))
        if self.sender is not None:
            where.append("scope_key IN (?, ?)")
            params += [self.sender, ACCOUNT]
        query = (
            f"SELECT CAST({SQLITE_CELLS} AS BLOB) FROM consent WHERE {' AND '.join(where)} {_ORDER}"
        )
        register_sqlite(driver)  # for the few cells the SQL leaves to core.formulas
        cursor = driver.cursor()
        try:
            # Separators and CAST AS BLOB assume UTF-8, which every ledger stopline makes uses.
            (encoding,) = cursor.execute("PRAGMA encoding").fetchone()
            if encoding != "UTF-8":
                raise ValueError(f"the SQLite ledger's text is {encoding}; the export reads UTF-8")
            cursor.execute(query, params)
            yield HEADER_LINE
            while rows := cursor.fetchmany(CHUNK_ROWS):
                self.rows += len(rows)
                yield csv_chunk([row for (row,) in rows])
        finally:
            cursor.close()

    def _postgresql(self, driver: Any) -> Iterator[bytes]:
        from psycopg import sql

        where = [sql.SQL("status = {}").format(Status.OPTED_OUT.value)]
        if self.since is not None:
            where.append(sql.SQL("since >= {}").format(self.since))
        if self.until is not None:
            where.append(sql.SQL("since < {}").format(self.until))
        if self.sender is not None:
            where.append(sql.SQL("scope_key IN ({}, {})").format(self.sender, ACCOUNT))
        query = sql.SQL(
            "COPY (SELECT {} FROM consent WHERE {} {}) TO STDOUT WITH (FORMAT csv)"
        ).format(sql.SQL(postgres_columns()), sql.SQL(" AND ").join(where), sql.SQL(_ORDER))
        with driver.cursor() as cursor:
            # A COPY is one statement: the session's limit (meant for the hook's short
            # queries) would cut a long export off. And UTF-8 whatever the server's default.
            cursor.execute("SET LOCAL statement_timeout = 0")
            cursor.execute("SET LOCAL client_encoding = 'UTF8'")
            # The formula pattern's backslashes are the pattern's own, whatever the server says.
            cursor.execute("SET LOCAL standard_conforming_strings = on")
            with cursor.copy(query) as copy:
                yield HEADER_LINE
                # Each row arrives as one message; they are gathered in one buffer (holding
                # the messages themselves costs more than copying them), with where each ends.
                buffer, ends = bytearray(), []
                for row in copy:
                    buffer += row
                    ends.append(len(buffer))
                    if len(ends) == CHUNK_ROWS:
                        self.rows += len(ends)
                        yield crlf_rows(bytes(buffer), ends)
                        buffer.clear()
                        ends = []
                if ends:
                    self.rows += len(ends)
                    yield crlf_rows(bytes(buffer), ends)


def crlf_rows(rows: bytes, ends: list[int]) -> bytes:
    """COPY's rows, each ending in LF at the given offsets, with csv.writer's CRLF line ends."""
    if rows.count(b"\n") == len(ends):  # no cell holds a newline: every LF ends a row
        return rows.replace(b"\n", b"\r\n")
    # A newline in a cell is inside quotes: only rows holding a quote are looked at.
    parts, done = [], 0
    at = rows.find(b'"')
    while at >= 0:
        index = bisect_right(ends, at)
        start, end = ends[index - 1] if index else 0, ends[index]
        if rows.count(b"\n", start, end) > 1:
            parts += [rows[done:start].replace(b"\n", b"\r\n"), rows[start : end - 1], b"\r\n"]
            done = end
        at = rows.find(b'"', end)
    parts.append(rows[done:].replace(b"\n", b"\r\n"))
    return b"".join(parts)


@contextmanager
def _driver_errors(database: Database) -> Iterator[None]:
    # The driver's own errors reach Database's handling (a lost ledger is a 503) as
    # SQLAlchemy's would.
    driver_error = database.engine.dialect.loaded_dbapi.Error
    try:
        yield
    except driver_error as exc:
        raise DBAPIError.instance(None, None, exc, driver_error) from exc
