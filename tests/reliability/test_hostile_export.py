"""Failure drill "Hostile export": formulas behind any invisible start, and who gets the list.

Formulas: hypothesis stores any text in every cell the export writes (free text, and the
phone and sender columns), on SQLite and PostgreSQL, and reads each way out back with csv:
the database-built CSV (`stopline export`, GET /v1/optouts) and the rows the Slack file is
written from. A cell that, once its leading blanks and invisible characters are skipped
(judged here independently of core.formulas), starts with = + - @ (or a tab or CR comes
first) must carry a leading `'`; every other cell is exactly what was stored. The doors
themselves are then asked for a few such texts.

Rights: strangers typing anything never get a file or a direct message opened; a channel goes
out only when Slack says, in so many words, that it is not shared.
"""

from __future__ import annotations

import csv
import io
import re
import time
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk import WebClient
from sqlalchemy import delete, insert

from bot.delivery import SHARED_FLAGS, NotDelivered, unshared_channel
from core.config import Settings
from core.model import ACCOUNT
from ledger.db import Database
from ledger.export import CsvExport, export_optouts
from ledger.tables import consent
from stopline.cli.main import main
from stopline.wiring import build_services, close_app, wire_app
from tests.bot.conftest import slack_settings
from tests.bot.fakeslack import FakeSlack, ordinary_channel
from tests.bot.helpers import AGENT, BOT_TOKEN, CHANNEL, SlackDriver, ack_text
from tests.conftest import RULES
from tests.web.helpers import bearer

TRIGGERS = "=+-@"
# Characters that show nothing, as a hostile editor would put them before a formula.
INVISIBLE = [
    " ", "\u00a0", "\u2000", "\u205f", "\u3000", "\u2028", "\n", "\x0c", "\x1e", "\u200b",
    "\u200d", "\u2060", "\u2061", "\ufeff", "\u180e", "\u00ad", "\u200f", "\u202a", "\u2067",
    "\U000e007f", "\ufe0f", "\u034f", "\u17b4", "\u3164", "\uffa0", "\u2800", "\uf8ff",
    "\U0010fffd", "\U0001fffe",
]  # fmt: skip
SHOWN_TRIGGERS = [*TRIGGERS, "\t", "\r", "\uff1d", "\ufe62", "\uff0d", "\uff20", "\u207c"]
_piece = st.one_of(
    st.sampled_from(INVISIBLE + SHOWN_TRIGGERS + ["a", "1", ",", '"', "'", "SUM(A1)"]),
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
)
_cell_text = st.lists(_piece, min_size=1, max_size=8).map("".join)
_e164 = st.from_regex(r"\+[1-9][0-9]{1,14}", fullmatch=True)
_number = st.one_of(_e164, _cell_text.map(lambda text: text[:16]))
FREE = ["actor", "message_text", "keyword", "rule", "reason"]
_drill = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def blank(char: str) -> bool:
    """This drill's own idea of a character that shows nothing (broad on purpose)."""
    category = unicodedata.category(char)
    name = unicodedata.name(char, "")
    return (
        category[0] in "ZC"
        or category in ("Mn", "Me")
        or char.isspace()
        or "FILLER" in name
        or name.endswith("BLANK")
    )


def runs_as_formula(cell: str) -> bool:
    """Would a spreadsheet that trims leading blanks see a formula (or a tab/CR) first?"""
    for char in cell:
        if char in "\t\r":
            return True
        if not blank(char):
            return unicodedata.normalize("NFKC", char)[:1] in TRIGGERS
    return False


def check_cell(out: str, stored: str | None, *, number: bool = False) -> None:
    """An exported cell: neutralised exactly when it would run, otherwise as stored."""
    stored = stored or ""
    if number and re.fullmatch(r"\+[1-9][0-9]{1,14}", stored, flags=re.ASCII):
        assert out == stored, "an E.164 number is exported as it is"
        return
    if runs_as_formula(stored):
        assert out == "'" + stored, f"{stored!r} exported as {out!r}"
    else:
        assert out == stored, f"{stored!r} exported as {out!r}"
        assert not runs_as_formula(out)


def read_back(data: bytes) -> list[list[str]]:
    """A CSV file as a spreadsheet's importer reads it (header dropped)."""
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))[1:]


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """The migrated ledger of this test (SQLite, then PostgreSQL)."""
    db = Database(database_url)
    yield db
    db.dispose()


def fill(database: Database, rows: list[dict[str, Any]]) -> None:
    """Replace the consent table's rows with opted-out rows holding these texts."""
    with database.write() as conn:
        conn.execute(delete(consent))
        for index, row in enumerate(rows):
            conn.execute(
                insert(consent),
                {"status": "opted_out", "source": "agent",
                 "since": datetime(2026, 1, 1, 0, 0, index, tzinfo=UTC), **row},
            )  # fmt: skip


_rows = st.lists(
    st.fixed_dictionaries(
        {
            "contact": _number,
            "scope_key": st.one_of(st.just(ACCOUNT), _number),
            **{column: st.one_of(st.none(), _cell_text) for column in FREE},
        }
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda row: (row["contact"], row["scope_key"]),
)


@_drill
@given(rows=_rows)
def test_no_exported_cell_runs_as_a_formula(database: Database, rows: list[dict[str, Any]]) -> None:
    fill(database, rows)
    by_database = read_back(b"".join(CsvExport(database)))  # stopline export, GET /v1/optouts
    by_python = list(export_optouts(database))[1:]  # the Slack file's rows
    assert by_database == [list(row) for row in by_python]
    assert len(by_database) == len(rows)
    stored = {(row["contact"], row["scope_key"]): row for row in rows}
    for out in by_database:
        # Rows come back in the export's order; find each one's stored row by its content.
        matches = [
            row for row in stored.values()
            if _same(out[0], row["contact"]) and (
                (row["scope_key"] == ACCOUNT and out[2] == "")
                or (row["scope_key"] != ACCOUNT and _same(out[2], row["scope_key"]))
            )
        ]  # fmt: skip
        assert matches, out
        row = matches[0]
        check_cell(out[0], row["contact"], number=True)
        if row["scope_key"] != ACCOUNT:
            check_cell(out[2], row["scope_key"], number=True)
        for column, cell in zip(FREE, (out[4], *out[6:]), strict=True):
            check_cell(cell, row[column])


def _same(out: str, stored: str) -> bool:
    return out in (stored, "'" + stored)


HOSTILE = [
    " =1+1", "\u00a0=HYPERLINK(\"http://x\")", "\u200b+1", "\ufeff-2+3", "\u2060@SUM(A1)",
    "\u3164=cmd|' /C calc'!A0", "\u2028\u2029=1", "\U000e0020=1", "\uff1d1+1",
    "+1 (555) =HYPERLINK(\"x\")", "\t=1", " \r plain",
]  # fmt: skip


def stored_reasons(database_url: str) -> Settings:
    """A ledger whose opt-outs carry each hostile reason, one contact each; its settings."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=database_url, rules_path=RULES, api_token="test-api-token"
    )
    database = Database(database_url)
    try:
        fill(
            database,
            [{"contact": f"+1206555{index:04d}", "scope_key": ACCOUNT, "reason": reason}
             for index, reason in enumerate(HOSTILE)],
        )  # fmt: skip
    finally:
        database.dispose()
    return settings


def reasons_of(data: bytes) -> dict[str, str]:
    """Phone to reason, read back from an exported CSV."""
    return {row[0]: row[9] for row in read_back(data)}


def expect_neutralised(found: dict[str, str]) -> None:
    assert found == {f"+1206555{i:04d}": "'" + reason for i, reason in enumerate(HOSTILE)}


def test_stopline_export_neutralises_them(database_url: str, tmp_path: Any) -> None:
    stored_reasons(database_url)
    out = tmp_path / "optouts.csv"
    env = {"STOPLINE_DATABASE_URL": database_url, "STOPLINE_RULES_PATH": str(RULES)}
    result = CliRunner().invoke(main, ["export", "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    expect_neutralised(reasons_of(out.read_bytes()))


def test_the_api_export_neutralises_them(database_url: str) -> None:
    settings = stored_reasons(database_url)
    services = build_services(settings)
    try:
        response = wire_app(settings, services).test_client().get("/v1/optouts", headers=bearer())
        assert response.status_code == 200
        expect_neutralised(reasons_of(response.get_data()))
    finally:
        services.close()


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    """A fake Slack Web API on 127.0.0.1."""
    server = FakeSlack()
    yield server
    server.close()


def slack_app(database_url: str, fake: FakeSlack, **overrides: Any) -> SlackDriver:
    """The web app with the Slack bot on, talking to the fake."""
    settings = slack_settings(database_url, fake, **overrides)
    services = build_services(settings)
    return SlackDriver(wire_app(settings, services), services, fake)


def test_the_slack_file_neutralises_them(database_url: str, fake: FakeSlack) -> None:
    stored_reasons(database_url)
    slack = slack_app(database_url, fake, slack_export_users=[AGENT])
    try:
        ack_text(slack.command("/optout-export"))
        complete = fake.wait_for("files.completeUploadExternal")[0]
        (file_id,) = fake.uploads
        assert complete.params["channel_id"].startswith("D")
        expect_neutralised(reasons_of(fake.uploads[file_id]))
    finally:
        close_app(slack.app, slack.services)  # the listener removes its file after its last call


# --- rights -----------------------------------------------------------------------------------

_user = st.from_regex(r"[UW][A-Z0-9]{8,10}", fullmatch=True).filter(lambda u: u != AGENT)
_command_text = st.one_of(
    st.sampled_from(["", "to=channel", "to=me", "since=2020-01-01", "sender=+14155550123",
                     "to=channel since=2020-01-01", "TO=CHANNEL", "to=D0AGENT01"]),
    st.text(max_size=40),
)  # fmt: skip


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_strangers_never_get_the_list(database_url: str, fake: FakeSlack) -> None:
    slack = slack_app(database_url, fake, slack_export_users=[AGENT])
    seen: list[str] = []

    @settings(max_examples=80, deadline=None, derandomize=True, database=None)
    @given(user=_user, text=_command_text, channel=st.sampled_from([CHANNEL, "G0PRIVATE", "D0X"]))
    def stranger(user: str, text: str, channel: str) -> None:
        answer = ack_text(slack.command("/optout-export", text, user=user, channel=channel))
        assert answer.startswith(":lock: No export was made."), answer
        assert "STOPLINE_SLACK_EXPORT_USERS" in answer
        seen.append(user)

    try:
        stranger()
        time.sleep(0.3)  # nothing may start after the ack either
        asked = {call.method for call in fake.calls}
        assert asked <= {"auth.test"}, asked  # no DM opened, no file, no channel looked at
        assert seen
    finally:
        close_app(slack.app, slack.services)


_flag_value = st.one_of(st.just(False), st.sampled_from([True, None, 0, 1, "false", "", []]))


@settings(max_examples=120, deadline=None, derandomize=True, database=None)
@given(
    flags=st.dictionaries(st.sampled_from(SHARED_FLAGS), _flag_value),
    dropped=st.sets(st.sampled_from(SHARED_FLAGS)),
)
def test_a_channel_goes_out_only_when_slack_says_it_is_not_shared(
    flags: dict[str, Any], dropped: set[str]
) -> None:
    server = FakeSlack()
    try:
        conversation = ordinary_channel(CHANNEL, **flags)
        for flag in dropped:
            conversation.pop(flag)
        server.conversations[CHANNEL] = conversation
        client = WebClient(token=BOT_TOKEN, base_url=server.api_url)
        safe = all(conversation.get(flag) is False for flag in SHARED_FLAGS)
        try:
            destination = unshared_channel(client, CHANNEL)
        except NotDelivered as refused:
            assert not safe, refused.message
            assert "Leave out `to=channel`" in refused.message
        else:
            assert safe, conversation
            assert destination.channel_id == CHANNEL and not destination.private
    finally:
        server.close()


NUMBERS = [
    ("+12065550100", "+12065550100"), ("+99912345", "+99912345"), ("+123456789012345",
    "+123456789012345"), ("22395", "22395"), ("+12", "+12"), ("+1", "'+1"), ("+0123", "'+0123"),
    ("+1234567890123456", "'+1234567890123456"), ("+١٢٠٦٥٥٥٠١٠٠", "'+١٢٠٦٥٥٥٠١٠٠"),
    (" +12065550100", "' +12065550100"), ("\u200b+12065550100", "'\u200b+12065550100"),
    ("+1(5)=HYPERLINK(1)", "'+1(5)=HYPERLINK(1)"), ("-12065550100", "'-12065550100"),
    ("+12065550100 ", "'+12065550100 "), ("+9999999999999999", "'+9999999999999999"),
    ("@12065550100", "'@12065550100"), ("=12065550100", "'=12065550100"),
]  # fmt: skip


def test_only_exact_e164_numbers_are_exempt_in_the_number_columns(database: Database) -> None:
    # The number columns hold 20 characters; the reason column gets the same texts.
    fill(
        database,
        [{"contact": stored, "scope_key": stored, "reason": stored} for stored, _ in NUMBERS],
    )
    rows = {out[0]: out for out in read_back(b"".join(CsvExport(database)))}
    assert [list(row) for row in list(export_optouts(database))[1:]] == list(rows.values())
    for stored, expected in NUMBERS:
        out = rows[expected]
        assert out[2] == expected, f"sender {stored!r}"
        # The reason is free text: a number-like reason gets no exemption.
        assert out[9] == ("'" + stored if runs_as_formula(stored) else stored)
