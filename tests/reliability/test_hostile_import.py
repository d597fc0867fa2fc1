"""Failure drill "Hostile lists": real files, of every shape an opt-out list comes in or is
broken into, go through `stopline import` (click's CliRunner, a real SQLite ledger).

For each: the rows that can be read are stored, every other line is named with why, and what
the summary says was stored is what the ledger holds. A bad byte or a quote left open stops
the import with every row before it stored and the line it stopped at; running the fixed file
again finishes the job. --dry-run leaves every table of the ledger as it was.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stopline.cli.csvlines import MAX_LINE_BYTES
from stopline.cli.main import main
from tests.conftest import RULES
from tests.rawsqlite import raw_sqlite


def number(i: int) -> str:
    return f"+1206555{i:04d}"


class Ledger:
    """A migrated ledger in tmp_path and a way to run `stopline import` against it."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(tmp_path)  # no developer .env
        self.dir = tmp_path
        self.db = tmp_path / "ledger.db"
        self.env = {
            "STOPLINE_DATABASE_URL": f"sqlite:///{self.db}",
            "STOPLINE_RULES_PATH": str(RULES),
        }
        assert self.run("db", "upgrade").exit_code == 0

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(main, list(args), env=self.env, catch_exceptions=False)

    def load(self, content: bytes, *flags: str, name: str = "list.csv") -> tuple[Result, dict]:
        path = self.dir / name
        path.write_bytes(content)
        result = self.run("import", str(path), "--json", *flags)
        assert "Traceback" not in result.output
        return result, json.loads(result.stdout)

    def opted_out(self) -> set[str]:
        with raw_sqlite(self.db) as conn:
            rows = conn.execute("SELECT contact FROM consent WHERE status = 'opted_out'")
            return {row[0] for row in rows}

    def snapshot(self) -> dict[str, list[tuple[object, ...]]]:
        with raw_sqlite(self.db) as conn:
            query = "SELECT name FROM sqlite_master WHERE type = 'table'"
            tables = [row[0] for row in conn.execute(query)]
            return {t: sorted(map(tuple, conn.execute(f'SELECT * FROM "{t}"'))) for t in tables}


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Ledger:
    return Ledger(tmp_path, monkeypatch)


def rows_of(separator: str, count: int = 3, trailing: str = "") -> str:
    header = separator.join(["phone", "sender", "reason"])
    lines = [header] + [
        separator.join([number(i), "", f"row {i}"]) + (trailing if i == 1 else "")
        for i in range(count)
    ]
    return "\n".join(lines) + "\n"


SHAPES = [
    # (name, file bytes, numbers stored)
    ("comma", rows_of(",").encode(), 3),
    ("semicolon", rows_of(";").encode(), 3),
    ("tab", rows_of("\t").encode(), 3),
    ("pipe", rows_of("|").encode(), 3),
    # the file: one row with one separator more than the header
    ("semicolon, trailing separator", rows_of(";", trailing=";").encode(), 3),
    ("tab, trailing separator", rows_of("\t", trailing="\t").encode(), 3),
    ("header with a trailing separator", b"Phone;Reason;\n+12065550000;a;\n+12065550001;b\n", 2),
    ("quoted separators", b'phone;reason\n"+12065550000";"late; angry"\n+12065550001;"a;b;c"\n', 2),
    ("quoted header", b'"Phone Number","Notes, if any"\n+12065550000,"x, y"\n', 1),
    ("other header names", b"Telephone No.;Comments\n+12065550000;x\n", 1),
    ("header in capitals with #", b"MOBILE #\tFROM\n+12065550000\t+12065550199\n", 1),
    ("commas in a semicolon file", b"phone;reason\n+12065550000;a, b, c\n+12065550001;d,e\n", 2),
    ("BOM", "\ufeffMobile;Comment\n+12065550000;x\n".encode(), 1),
    ("Excel's sep= line", b"sep=;\nphone;reason\n+12065550000;a,b\n+12065550001;c\n", 2),
    ("CRLF", b"phone,reason\r\n+12065550000,x\r\n+12065550001,y\r\n", 2),
    ("old Mac CR", b"phone,reason\r+12065550000,x\r+12065550001,y\r", 2),
    ("no final newline", b"phone\n+12065550000\n+12065550001", 2),
    ("blank lines", b"phone\n\n+12065550000\n\n\n+12065550001\n", 2),
    ("blank lines above the header", b"\n\r\n  \nphone\n+12065550000\n", 1),
    ("separators only", b"phone;reason\n;\n+12065550000;x\n;;\n", 1),
    ("bare list", b"+12065550000\n+12065550001\n(206) 555-0002\n", 3),
    ("multi-line note", b'phone,reason\n+12065550000,"line one\nline two"\n+12065550001,z\n', 2),
]


@pytest.mark.parametrize(("content", "stored"), [s[1:] for s in SHAPES], ids=[s[0] for s in SHAPES])
def test_every_ordinary_shape_is_read(ledger: Ledger, content: bytes, stored: int) -> None:
    result, summary = ledger.load(content)
    assert result.exit_code == 0, result.output
    assert (summary["stored"], summary["invalid"], summary["complete"]) == (stored, 0, True)
    assert len(ledger.opted_out()) == stored


HOSTILE_LINE = b"+" + b"1;" * 30_000 + b"\n"  # 60 KB with 30,000 separators: Sniffer took 20 s

MALFORMED = [
    # (name, the bad line, the reason's words): each sits at line 3 between good rows
    ("a hostile 60 KB line", HOSTILE_LINE, "bytes long"),
    ("a field past the line limit", b"+12065559999," + b"x" * (MAX_LINE_BYTES + 10) + b"\n",
     "bytes long"),
    ("one value too many", b"+12065559999,spam,+12065550199,extra\n", "4 values"),
    ("an unquoted separator in the reason", b"+12065559999,late, angry,+12065550199\n", "values"),
    ("not a number", b"call me maybe,,\n", "not a valid phone number"),
    ("letters in the sender", b"+12065559999,+1206CALLNOW,\n", "line 3"),
    ("a date in the future", b"+12065559999,,2999-01-01\n", "future"),
    ("a NUL byte", b"+1206\x005559999,,\n", "line 3"),
]  # fmt: skip


@pytest.mark.parametrize(("bad", "why"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_a_malformed_row_is_refused_with_its_line_and_the_rest_imported(
    ledger: Ledger, bad: bytes, why: str
) -> None:
    good = b"+12065550001,,\n+12065550002,,\n"
    content = b"phone,sender,opted_out_at\n+12065550000,,\n" + bad + good
    result, summary = ledger.load(content)
    assert result.exit_code == 0, result.output
    assert summary["stored"] == 3 and summary["complete"]
    assert summary["invalid"] == 1
    [refusal] = summary["refused"]
    assert refusal["line"] == 3
    assert why in f"line {refusal['line']} {refusal['reason']}"
    assert ledger.opted_out() == {number(0), number(1), number(2)}


def test_the_hostile_line_is_refused_in_the_plain_summary_too(ledger: Ledger) -> None:
    path = ledger.dir / "hostile.csv"
    path.write_bytes(b"phone;reason\n+12065550000;a\n" + HOSTILE_LINE + b"+12065550001;b\n")
    result = ledger.run("import", str(path))
    assert result.exit_code == 0, result.output
    assert "2 taken, 0 skipped (already opted out), 1 invalid" in result.stdout
    assert "line 3: line 3 is 60,001 bytes long" in result.stderr


@pytest.mark.parametrize("bad_line", [2, 3, 1500, 2001, 2002, 4500])
def test_a_bad_byte_stops_with_every_row_before_it_stored(ledger: Ledger, bad_line: int) -> None:
    # Lines past 2,000 cross the service's chunk: the chunk the bad byte cuts is stored too.
    good = [f"{number(i)},old list".encode() for i in range(2, 5001)]
    lines = [b"phone,reason", *good]
    lines[bad_line - 1] = f"{number(bad_line)},d\xe9j\xe0 parti".encode("latin-1")
    content = b"\n".join(lines) + b"\n"
    path = ledger.dir / "list.csv"
    path.write_bytes(content)
    plain = ledger.run("import", str(path))
    assert plain.exit_code == 1
    assert f"Stopped at line {bad_line}: byte 0xe9" in plain.stderr
    assert f"{bad_line - 2} row(s) stored" in plain.stderr
    assert "CSV UTF-8" in plain.stderr
    assert len(ledger.opted_out()) == bad_line - 2

    # The same file again: it stops at the same line, having stored nothing new.
    result, summary = ledger.load(content)
    assert result.exit_code == 1
    assert (summary["complete"], summary["stopped"]["line"]) == (False, bad_line)
    assert "not UTF-8" in summary["stopped"]["reason"]
    assert (summary["stored"], summary["skipped"]) == (0, bad_line - 2)
    assert summary["lines_read"] == bad_line - 1

    # Saved again as UTF-8, the same file finishes the job; what was stored is skipped.
    path.write_bytes(content.decode("latin-1").encode("utf-8"))
    again = json.loads(ledger.run("import", str(path), "--json").stdout)
    expected = (5000 - bad_line + 1, bad_line - 2, True)
    assert (again["stored"], again["skipped"], again["complete"]) == expected
    assert len(ledger.opted_out()) == 4999


@pytest.mark.parametrize(
    ("tail", "stop_line", "why"),
    [
        (b'+12065550003,"never closed\n+12065550004,x\n', 4, "never closed"),
        (b'+12065550003,"runaway\n' + b"+12065550004,x\n" * 2000, 4, "still open"),
    ],
    ids=["open to the end", "open past the record limit"],
)
def test_a_quote_left_open_stops_and_keeps_the_rows_before(
    ledger: Ledger, tail: bytes, stop_line: int, why: str
) -> None:
    content = b"phone,reason\n+12065550000,a\n+12065550001,b\n" + tail
    result, summary = ledger.load(content)
    assert result.exit_code == 1
    assert summary["stopped"]["line"] == stop_line and why in summary["stopped"]["reason"]
    assert summary["stored"] == 2 == len(ledger.opted_out())


def test_a_bad_byte_inside_a_quoted_row_stops_at_the_rows_first_line(ledger: Ledger) -> None:
    content = (
        b'phone,reason\n+12065550000,a\n+12065550001,"two\nlines d\xe9j\xe0"\n'
        b"+12065550002,b\n"
    )
    result, summary = ledger.load(content)
    assert result.exit_code == 1
    assert summary["stopped"]["line"] == 3 and "of line 4" in summary["stopped"]["reason"]
    assert summary["lines_read"] == 2 and summary["stored"] == 1 == len(ledger.opted_out())


def test_a_stray_quote_that_swallows_rows_is_refused_not_stored(ledger: Ledger) -> None:
    content = (
        b'phone,reason\n+12065550000,"oops\n+12065550001,x\n+12065550002,"fine"\n'
        b"+12065550003,y\n"
    )
    result, summary = ledger.load(content)
    assert result.exit_code == 0
    [refusal] = summary["refused"]
    assert refusal["line"] == 2 and "closes on line 4" in refusal["reason"]
    assert ledger.opted_out() == {number(3)}


def test_dry_run_changes_nothing_and_predicts_the_real_run(ledger: Ledger) -> None:
    assert ledger.run("optout", number(1), "--reason", "earlier").exit_code == 0
    # 4,500 rows: three chunks, with repeats far apart (a dry run stores nothing between them)
    lines = ["phone,sender,reason"] + [f"{number(i % 3000)},,r" for i in range(4500)]
    lines[10] = "not a number,,"
    lines[20] = "+12065550020,,a,b"
    content = ("\n".join(lines) + "\n").encode()
    before = ledger.snapshot()
    dry, predicted = ledger.load(content, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert ledger.snapshot() == before
    assert predicted["dry_run"] is True and predicted["stored"] == 0
    real, done = ledger.load(content)
    assert real.exit_code == 0
    keys = ("taken", "skipped", "invalid", "refused", "complete")
    assert {k: predicted[k] for k in keys} == {k: done[k] for k in keys}
    assert done["stored"] == done["taken"] == len(ledger.opted_out()) - 1


def test_dry_run_plain_summary_says_nothing_was_stored(ledger: Ledger) -> None:
    path = ledger.dir / "x.csv"
    path.write_text("phone\n+12065550000\n")
    result = ledger.run("import", str(path), "--dry-run")
    assert result.exit_code == 0
    assert "1 would be taken" in result.stdout and "nothing stored" in result.stdout
    assert ledger.opted_out() == set()


def test_json_summary_names_every_refusal(ledger: Ledger) -> None:
    content = b"phone;reason\n+12065550000;x\nnope;y\n+12065550001;a;b\n"
    result, summary = ledger.load(content)
    assert result.exit_code == 0
    assert summary["separator"] == "semicolon"
    assert [r["line"] for r in summary["refused"]] == [3, 4]
    assert (summary["taken"], summary["invalid"], summary["stopped"]) == (1, 2, None)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"name;email\nann;a@example.com\n", "no phone column"),
        (b"phone" + b"," * (MAX_LINE_BYTES + 1) + b"\n+12065550000\n", "bytes long"),
        (b"ph\xf6ne,reason\n+12065550000,x\n", "not UTF-8"),
        ("phone\treason\n+12065550000\tx\n".encode("utf-16"), "UTF-16"),
        (b"PK\x03\x04\x14\x00\x06\x00phone\n", "Excel workbook"),
        (b"\n\n\n", "is empty"),
    ],
    ids=[
        "empty", "no phone column", "huge header", "bad byte in the header", "UTF-16", "xlsx",
        "only blank lines",
    ],
)
def test_a_file_that_is_no_list_is_refused_before_anything_is_stored(
    ledger: Ledger, content: bytes, message: str
) -> None:
    path = ledger.dir / "x.csv"
    path.write_bytes(content)
    result = ledger.run("import", str(path))
    assert result.exit_code == 1
    assert message in result.stderr and "Traceback" not in result.output
    assert ledger.opted_out() == set()


CELLS = st.one_of(
    st.sampled_from([number(i) for i in range(8)] + ["", "x", '"', '""', "+1206", "\ufeff"]),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12),
)
SEPARATOR = st.sampled_from([",", ";", "\t", "|"])


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    separator=SEPARATOR,
    rows=st.lists(st.lists(CELLS, min_size=0, max_size=4), max_size=12),
    ending=st.sampled_from(["\n", "\r\n", "\r"]),
    junk=st.binary(max_size=6),
)
def test_whatever_the_file_the_summary_matches_the_ledger(
    tmp_path_factory: pytest.TempPathFactory,
    separator: str,
    rows: list[list[str]],
    ending: str,
    junk: bytes,
) -> None:
    mp = pytest.MonkeyPatch()
    try:
        ledger = Ledger(tmp_path_factory.mktemp("fuzz"), mp)
        lines = [separator.join(["phone", "reason"])] + [separator.join(r) for r in rows]
        text = ending.join(lines)
        result, summary = ledger.load(text.encode() + junk)
    finally:
        mp.undo()
    assert result.exit_code in (0, 1)
    assert summary["stored"] == len(ledger.opted_out())
    if "error" in summary:  # refused before anything was read (a bad byte in the header)
        assert result.exit_code == 1 and summary["stored"] == 0
        return
    assert summary["complete"] is (summary["stopped"] is None)
    assert all(r["line"] >= 2 for r in summary["refused"])


def test_a_file_of_bad_lines_is_counted_in_full_and_listed_in_part(ledger: Ledger) -> None:
    bad = b"+12065550000,a,b,c\n" * 1500 + b"nope,,\n" * 1200  # 1,500 too wide, 1,200 not numbers
    result, summary = ledger.load(b"phone,reason\n" + bad + b"+12065550001,ok\n")
    assert result.exit_code == 0
    assert (summary["taken"], summary["invalid"]) == (1, 2700)
    assert len(summary["refused"]) + summary["refused_unlisted"] == 2700
    assert len(summary["refused"]) <= 2000


def test_a_ledger_that_fails_part_way_is_reported_with_what_was_stored(ledger: Ledger) -> None:
    from core.config import Settings
    from core.model import Actor, Source
    from stopline.wiring import build_services

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=f"sqlite:///{ledger.db}", rules_path=RULES,
        db_busy_timeout_ms=100,
    )  # fmt: skip
    services = build_services(settings)
    holder = sqlite3.connect(ledger.db, isolation_level=None)

    def rows() -> Iterator[dict[str, str]]:
        for i in range(4500):
            if i == 2000:  # the first chunk is committed; another writer takes the lock
                holder.execute("BEGIN IMMEDIATE")
            yield {"phone": number(i)}

    try:
        summary = services.consent.import_optouts(rows(), Actor(Source.IMPORT, "t"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        services.close()
    assert summary.taken == 2000 == len(ledger.opted_out())
    assert summary.failed_at is not None and summary.failed_at[0] == 2002  # row 2,001's line

    holder = sqlite3.connect(ledger.db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        path = ledger.dir / "x.csv"
        path.write_text("phone\n" + "".join(f"{number(i)}\n" for i in range(4500)))
        result = CliRunner().invoke(
            main, ["import", str(path)], env={**ledger.env, "STOPLINE_DB_BUSY_TIMEOUT_MS": "100"}
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1
    assert "Stopped at line 2: the ledger failed" in result.stderr
    assert "0 row(s) stored" in result.stderr
    assert "nothing was stored, try again" not in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.postgres
def test_dry_run_then_import_on_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_schema_url: str
) -> None:
    from sqlalchemy import create_engine, text

    monkeypatch.chdir(tmp_path)
    env = {"STOPLINE_DATABASE_URL": pg_schema_url, "STOPLINE_RULES_PATH": str(RULES)}

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    def counts() -> tuple[int, int]:
        engine = create_engine(pg_schema_url)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT count(*) FROM consent")).scalar_one()
            events = conn.execute(text("SELECT count(*) FROM consent_events")).scalar_one()
        engine.dispose()
        return rows, events

    assert run("db", "upgrade").exit_code == 0
    path = tmp_path / "pg.csv"
    path.write_bytes(b"phone;reason\n+12065550000;a;\n+12065550001;b\nnope;c\n+12065550000;d\n")
    dry = json.loads(run("import", str(path), "--dry-run", "--json").stdout)
    assert counts() == (0, 0)
    real = json.loads(run("import", str(path), "--json").stdout)
    assert (dry["taken"], dry["skipped"], dry["invalid"]) == (2, 1, 1)
    assert (real["stored"], real["skipped"], real["invalid"]) == (2, 1, 1)
    assert counts() == (2, 2)
