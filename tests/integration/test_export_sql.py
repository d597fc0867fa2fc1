"""The CSV the database builds (CsvExport) is byte for byte csv.writer's output of the rows.

Hypothesis fills the consent table with hostile text (quotes, commas, CR, LF, formula
prefixes, unicode, empty and NULL cells) and odd times, on SQLite and PostgreSQL, and the two
exports must agree for every since/sender filter.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, text

from core.config import Settings
from core.errors import DatabaseUnavailable, InvalidInput
from core.formulas import neutralise_number
from core.model import ACCOUNT
from ledger.db import Database
from ledger.export import CHUNK_ROWS, HEADER_LINE, CsvExport, crlf_rows, export_optouts
from ledger.tables import consent
from stopline.wiring import migrate
from tests.rawsqlite import raw_sqlite

SENDERS = ["+12065550199", "+14155550123", "22395"]
_nasty = st.sampled_from(
    ['"', '""', ",", "\n", "\r", "\r\n", "=", "+", "-", "@", "\t", "'", " ", "é", "☎", "𝄞", "\x1f"]
)
# What the ledger can hold: any text but NUL and lone surrogates (core.text.clean_text).
_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=30)
_cell = st.one_of(
    st.none(),
    st.just(""),
    st.lists(st.one_of(_nasty, _text.map(lambda text: text[:4])), max_size=6).map("".join),
    _text,
)
_short_cell = _cell.map(lambda text: text if text is None else text[:16])
_times = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).flatmap(lambda moment: st.sampled_from([moment, moment.replace(microsecond=0)]))
_rows = st.lists(
    st.fixed_dictionaries(
        {
            "contact": st.one_of(st.sampled_from(["+12065550100", "+12065550101"]), _short_cell),
            "scope_key": st.sampled_from([ACCOUNT, *SENDERS]),
            "status": st.sampled_from(["opted_out", "opted_out", "subscribed"]),
            "source": _short_cell,
            "actor": _cell,
            "since": _times,
            "rule": _cell,
            "keyword": _cell,
            "message_text": _cell,
            "reason": _cell,
        }
    ),
    max_size=12,
    unique_by=lambda row: (row["contact"] or "", row["scope_key"]),
)
_hypothesis = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """The migrated ledger of this test."""
    db = Database(database_url)
    yield db
    db.dispose()


def written(rows: Iterable[Sequence[str]]) -> bytes:
    """What csv.writer makes of the rows, as the old export wrote them."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


def fill(database: Database, rows: list[dict[str, Any]]) -> None:
    """Replace the consent table's rows."""
    with database.write() as conn:
        conn.execute(delete(consent))
        for row in rows:  # one by one: the contact may be NULL-ish text
            conn.execute(insert(consent), {**row, "contact": row["contact"] or ""})


@_hypothesis
@given(
    rows=_rows,
    since=st.one_of(st.none(), _times),
    until=st.one_of(st.none(), _times),
    sender=st.one_of(st.none(), st.sampled_from(SENDERS)),
)
def test_database_csv_equals_csv_writer(
    database: Database,
    rows: list[dict[str, Any]],
    since: datetime | None,
    until: datetime | None,
    sender: str | None,
) -> None:
    if since is not None and until is not None and until <= since:
        since, until = until, since + timedelta(microseconds=1)
    fill(database, rows)
    rows_out = list(export_optouts(database, since, sender, until))
    export = CsvExport(database, since, sender, until)
    assert b"".join(export) == written(rows_out)
    assert export.rows == len(rows_out) - 1  # the header is no row
    # Both are the rows in the window [since, until), whatever the other filters.
    # The phone cell is neutralised like any cell unless it is exactly E.164.
    wanted = sorted(
        (neutralise_number(row["contact"] or ""), row["scope_key"])
        for row in rows
        if row["status"] == "opted_out"
        and (since is None or row["since"] >= since)
        and (until is None or row["since"] < until)
        and (sender is None or row["scope_key"] in (sender, ACCOUNT))
    )
    got = sorted((cells[0], cells[2] or ACCOUNT) for cells in rows_out[1:])
    assert got == wanted


@pytest.mark.parametrize("gap", [timedelta(0), timedelta(microseconds=-1), timedelta(days=-9)])
def test_a_window_that_ends_before_it_starts_is_refused_before_any_query(gap: timedelta) -> None:
    since = datetime(2026, 3, 1, tzinfo=UTC)
    # No database at all: the refusal comes first, from both ways out.
    broken = Database("sqlite:////nonexistent/dir/ledger.db")
    with pytest.raises(InvalidInput, match="must be later than since"):
        CsvExport(broken, since, None, since + gap)
    with pytest.raises(InvalidInput, match="must be later than since"):
        next(export_optouts(broken, since, None, since + gap))
    broken.dispose()


def test_until_is_exclusive_and_a_date_is_its_midnight(database: Database) -> None:
    march = datetime(2026, 3, 1, tzinfo=UTC)
    fill(database, [
        {"contact": f"+1206555010{i}", "scope_key": ACCOUNT, "status": "opted_out",
         "source": "api", "since": moment}
        for i, moment in enumerate([march - timedelta(microseconds=1), march,
                                    march + timedelta(days=1)])
    ])  # fmt: skip
    for until, expected in [(march, ["+12065550100"]),
                            (march + timedelta(microseconds=1), ["+12065550100", "+12065550101"])]:
        lines = b"".join(CsvExport(database, None, None, until)).decode().splitlines()[1:]
        assert [line.split(",")[0] for line in lines] == expected


def test_every_row_of_a_long_export_once_in_order(database: Database) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    count = CHUNK_ROWS * 2 + 17
    rows = [
        {"contact": f"+1206555{i:04d}", "scope_key": ACCOUNT, "status": "opted_out",
         "source": "import", "actor": "bench", "since": start + timedelta(seconds=i // 3)}
        for i in range(count)
    ]  # fmt: skip
    with database.write() as conn:
        conn.execute(insert(consent), rows)
    export = CsvExport(database, start + timedelta(seconds=1))
    body = b"".join(export)
    assert body == written(export_optouts(database, start + timedelta(seconds=1)))
    assert export.rows == count - 3
    assert body.startswith(HEADER_LINE)


def test_an_export_left_half_way_frees_its_connection(database: Database) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with database.write() as conn:
        conn.execute(
            insert(consent),
            [{"contact": f"+1206555{i:04d}", "scope_key": ACCOUNT, "status": "opted_out",
              "since": start} for i in range(CHUNK_ROWS * 3)],
        )  # fmt: skip
    pool = database.engine.pool
    chunks = iter(CsvExport(database))
    assert next(chunks) == HEADER_LINE
    next(chunks)
    assert pool.checkedout() == 1  # type: ignore[attr-defined]
    chunks.close()  # type: ignore[attr-defined]  # what a server does when the client goes
    assert pool.checkedout() == 0  # type: ignore[attr-defined]
    assert next(iter(CsvExport(database))) == HEADER_LINE  # and the connection still works


@_hypothesis
@given(rows=st.lists(st.lists(_cell.map(lambda text: text or ""), min_size=10, max_size=10)))
def test_copy_rows_get_csv_writers_line_ends(rows: list[list[str]]) -> None:
    # COPY's CSV is csv.writer's with LF line ends: only the LF that ends a row becomes CRLF.
    lines = [written([row])[:-2] + b"\n" for row in rows]
    ends = list(accumulate(map(len, lines)))
    assert crlf_rows(b"".join(lines), ends) == written(rows)


def test_text_that_is_not_utf8_stops_the_export(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    migrate(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    with raw_sqlite(tmp_path / "ledger.db") as raw:  # as no stopline code would write it
        raw.execute(
            "INSERT INTO consent (contact, scope_key, status, since, reason) VALUES "
            "('+12065550100', '*', 'opted_out', '2025-01-01 00:00:00.000000', "
            "CAST(X'41FF42' AS TEXT))"
        )
    database = Database(url)
    try:
        with pytest.raises(ValueError, match="not UTF-8"):
            b"".join(CsvExport(database))
    finally:
        database.dispose()


def test_a_broken_ledger_fails_the_first_step_as_the_rows_export_does(database: Database) -> None:
    with database.write() as conn:
        conn.execute(text("DROP TABLE consent"))
    with pytest.raises(Exception) as rows:  # the class is what is compared
        next(export_optouts(database))
    with pytest.raises(type(rows.value)):  # SQLite: DatabaseUnavailable (a 503)
        next(iter(CsvExport(database)))
    assert isinstance(rows.value, DatabaseUnavailable) or database.dialect == "postgresql"


def test_a_utf16_sqlite_ledger_is_refused_not_garbled(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with raw_sqlite(path) as raw:  # the encoding is fixed when the first table is made
        raw.execute("PRAGMA encoding = 'UTF-16le'")
        raw.execute("CREATE TABLE made_first (x)")
    url = f"sqlite:///{path}"
    migrate(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    database = Database(url)
    try:
        with pytest.raises(ValueError, match="UTF-16le; the export reads UTF-8"):
            next(iter(CsvExport(database)))
    finally:
        database.dispose()
