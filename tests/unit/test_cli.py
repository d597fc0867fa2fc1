"""The `stopline` command through click's CliRunner, against a temporary SQLite ledger."""

from __future__ import annotations

import csv
import getpass
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from core.config import Settings
from core.model import InboundMessage
from stopline.cli.main import main
from stopline.wiring import build_services

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules.yml"
CONTACT = "+12065550100"
SENDER = "+12065550199"

Invoke = Callable[..., Result]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Settings for one test: its own SQLite file, the shipped rules, no developer .env."""
    monkeypatch.chdir(tmp_path)  # Settings reads ./.env; the test's directory has none
    return {
        "STOPLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "STOPLINE_RULES_PATH": str(RULES),
    }


@pytest.fixture
def stopline(env: dict[str, str]) -> Invoke:
    """Run `stopline ARGS...` and return click's result (stdout and stderr apart)."""

    def invoke(*args: str, **extra_env: str) -> Result:
        return CliRunner().invoke(
            main, list(args), env={**env, **extra_env}, catch_exceptions=False
        )

    return invoke


@pytest.fixture
def ledger(stopline: Invoke) -> Invoke:
    """A migrated ledger, made by `stopline db upgrade`."""
    result = stopline("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "up to date" in result.stdout
    return stopline


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output


# --- rules ---------------------------------------------------------------------------------


def test_rules_check_passes_the_shipped_file(stopline: Invoke) -> None:
    result = stopline("rules", "check", str(RULES))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip()  # a summary, not silence


def test_rules_check_defaults_to_the_configured_file(stopline: Invoke) -> None:
    assert stopline("rules", "check").exit_code == 0


BROKEN = [
    ("syntax", "opt_out: [STOP\n"),
    ("unknown key", RULES.read_text() + "\nnot_a_setting: 1\n" if RULES.exists() else ""),
]


@pytest.mark.parametrize(("case", "content"), BROKEN, ids=[c for c, _ in BROKEN])
def test_rules_check_reports_each_problem_with_its_place(
    stopline: Invoke, tmp_path: Path, case: str, content: str
) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(content)
    result = stopline("rules", "check", str(broken))
    assert result.exit_code == 1
    assert f"{broken}:" in result.stderr  # file:line at path: message
    no_traceback(result)


def test_rules_check_missing_file_is_a_usage_error(stopline: Invoke, tmp_path: Path) -> None:
    result = stopline("rules", "check", str(tmp_path / "nope.yml"))
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


@pytest.mark.parametrize(
    ("args", "transition"),
    [
        (["STOP"], "opt_out"),
        (["stop please"], "opt_out"),
        (["Can we stop by tomorrow?"], "none"),
        (['Liked "Reply STOP to opt out"'], "none"),
        (["HELP"], "help"),
        (["START", "--status", "opted_out", "--by", "contact"], "opt_in"),
        (["STOPALL"], "opt_out"),
    ],
)
def test_rules_try_json(stopline: Invoke, args: list[str], transition: str) -> None:
    result = stopline("rules", "try", *args, "--json")
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout)
    assert decision["transition"] == transition
    assert decision["rule"]
    assert len(decision["rules_version"]) == 64


def test_rules_try_stopall_covers_the_account(stopline: Invoke) -> None:
    decision = json.loads(stopline("rules", "try", "STOPALL", "--json").stdout)
    assert decision["scope"] == "account"


def test_rules_try_prints_decision_rule_and_reply(stopline: Invoke) -> None:
    result = stopline("rules", "try", "STOP", "--to", SENDER)
    assert result.exit_code == 0, result.output
    assert "decision: opt_out" in result.stdout
    assert "rule:" in result.stdout
    assert "reply:" in result.stdout


def test_rules_try_rejects_a_bad_number(stopline: Invoke) -> None:
    result = stopline("rules", "try", "STOP", "--from", "12")
    assert result.exit_code == 2
    assert "not a valid phone number" in result.stderr
    no_traceback(result)


# --- consent -------------------------------------------------------------------------------


def test_status_json_is_the_apis_shape_with_utc_as_z(ledger: Invoke) -> None:
    assert ledger("optout", CONTACT, "--sender", SENDER, "--reason", "asked").exit_code == 0
    status = json.loads(ledger("status", CONTACT, "--sender", SENDER, "--json").stdout)
    assert status["since"].endswith("Z"), status["since"]  # as GET /v1/consent/<phone> says


def test_optout_status_optin_round_trip(ledger: Invoke) -> None:
    out = ledger("optout", CONTACT, "--sender", SENDER, "--reason", "asked on a call")
    assert out.exit_code == 0, out.output
    assert "Opted out" in out.stdout

    status = json.loads(ledger("status", CONTACT, "--sender", SENDER, "--json").stdout)
    assert (status["status"], status["opted_out_by"], status["scope"]) == (
        "opted_out", "agent", "sender",
    )  # fmt: skip
    assert json.loads(ledger("status", CONTACT, "--json").stdout)["can_send"] is True

    again = ledger("optout", CONTACT, "--sender", SENDER, "--reason", "twice")
    assert again.exit_code == 0 and "nothing changed" in again.stdout

    back = ledger("optin", CONTACT, "--sender", SENDER)
    assert back.exit_code == 0, back.output
    assert (
        json.loads(ledger("status", CONTACT, "--sender", SENDER, "--json").stdout)["status"]
        == "subscribed"
    )


def test_account_optout_covers_every_sender(ledger: Invoke) -> None:
    assert ledger("optout", CONTACT, "--reason", "lawyer letter").exit_code == 0
    result = ledger("status", CONTACT, "--sender", SENDER)
    assert "may NOT be texted" in result.stdout
    assert "account" in result.stdout


def test_optout_needs_a_reason(ledger: Invoke) -> None:
    result = ledger("optout", CONTACT)
    assert result.exit_code == 2
    assert "--reason" in result.stderr


def test_agent_cannot_opt_in_a_contacts_own_stop(ledger: Invoke, env: dict[str, str]) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=env["STOPLINE_DATABASE_URL"], rules_path=RULES
    )
    services = build_services(settings)
    try:
        services.consent.receive_message(
            InboundMessage("twilio", "SM" + "1" * 32, CONTACT, SENDER, "STOP", datetime.now(UTC))
        )
    finally:
        services.close()
    result = ledger("optin", CONTACT, "--sender", SENDER)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    no_traceback(result)
    status = json.loads(ledger("status", CONTACT, "--sender", SENDER, "--json").stdout)
    assert status["status"] == "opted_out"


@pytest.mark.parametrize("command", [["status", "12"], ["optout", "abc", "--reason", "x"]])
def test_invalid_number_is_a_clear_error(ledger: Invoke, command: list[str]) -> None:
    result = ledger(*command)
    assert result.exit_code == 2
    assert "not a valid phone number" in result.stderr
    assert "+1" in result.stderr  # an example of a valid form
    no_traceback(result)


def test_broken_rules_stop_a_command_with_each_problem(ledger: Invoke, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("opt_out: [STOP\n")
    result = ledger("status", CONTACT, STOPLINE_RULES_PATH=str(broken))
    assert result.exit_code == 1
    assert f"{broken}" in result.stderr
    no_traceback(result)


def test_invalid_setting_is_reported(stopline: Invoke) -> None:
    result = stopline("status", CONTACT, STOPLINE_DB_BUSY_TIMEOUT_MS="soon")
    assert result.exit_code == 1
    assert "db_busy_timeout_ms" in result.stderr
    no_traceback(result)


# --- export and import ---------------------------------------------------------------------


def test_export_to_file_and_stdout(ledger: Invoke, tmp_path: Path) -> None:
    for phone in ("+12065550101", "+12065550102"):
        assert ledger("optout", phone, "--reason", "=HYPERLINK(1)").exit_code == 0
    out = tmp_path / "optouts.csv"
    result = ledger("export", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "2 opt-out(s) exported" in result.stderr
    rows = list(csv.reader(io.StringIO(out.read_text())))
    header = rows[0]
    assert header[0] == "phone"
    assert sorted(r[0] for r in rows[1:]) == ["+12065550101", "+12065550102"]
    reasons = {r[header.index("reason")] for r in rows[1:]}
    assert reasons == {"'=HYPERLINK(1)"}  # a spreadsheet will not run it as a formula
    assert not (tmp_path / "optouts.csv.partial").exists()

    printed = ledger("export")
    assert printed.exit_code == 0
    assert list(csv.reader(io.StringIO(printed.stdout))) == rows


def test_export_since_the_future_is_empty(ledger: Invoke) -> None:
    assert ledger("optout", CONTACT, "--reason", "x").exit_code == 0
    result = ledger("export", "--since", "2999-01-01")
    assert result.exit_code == 0
    assert len(list(csv.reader(io.StringIO(result.stdout)))) == 1  # the header only


def test_import_counts_taken_skipped_and_invalid(ledger: Invoke, tmp_path: Path) -> None:
    assert ledger("optout", "+12065550105", "--reason", "earlier").exit_code == 0
    source = tmp_path / "old-list.csv"
    source.write_text(
        "\ufeffPhone Number,Reason,Sender\n"
        "+12065550103,complained,\n"
        "(206) 555-0104,,+12065550199\n"
        "+12065550105,,\n"  # already opted out (account)
        "+12065550103,duplicate,\n"
        "not a number,,\n"
        "+1206001234,,\n"
    )
    result = ledger("import", str(source))
    assert result.exit_code == 0, result.output
    assert "2 taken, 2 skipped (already opted out), 2 invalid" in result.stdout
    assert "line 6" in result.stderr  # the file's line of the bad number
    status = json.loads(ledger("status", "+12065550104", "--sender", SENDER, "--json").stdout)
    assert (status["status"], status["opted_out_by"]) == ("opted_out", "import")
    exported = ledger("export").stdout
    assert f"old-list.csv by cli:{getpass.getuser()}" in exported  # the file and who loaded it


def test_import_a_bare_list_of_numbers(ledger: Invoke, tmp_path: Path) -> None:
    source = tmp_path / "numbers.csv"
    source.write_text("+12065550106\n+12065550107\n")
    result = ledger("import", str(source))
    assert result.exit_code == 0, result.output
    assert "2 taken" in result.stdout


@pytest.mark.parametrize("delimiter", [";", "\t", ","])
def test_import_reads_semicolon_and_tab_separated_files(
    ledger: Invoke, tmp_path: Path, delimiter: str
) -> None:
    source = tmp_path / "excel.csv"
    source.write_text(
        f"Phone{delimiter}Reason\n+12065550108{delimiter}old list\n\n2065550109{delimiter}x\n"
    )
    result = ledger("import", str(source))
    assert result.exit_code == 0, result.output
    assert "2 taken, 0 skipped (already opted out), 0 invalid" in result.stdout


@pytest.mark.parametrize(
    "since", ["2026-01-01T09:30:00Z", "2026-01-01T09:30:00+02:00", "2026-01-01"]
)
def test_export_since_takes_iso_times(ledger: Invoke, since: str) -> None:
    assert ledger("optout", CONTACT, "--reason", "x").exit_code == 0
    result = ledger("export", "--since", since)
    assert result.exit_code == 0, result.output
    assert len(list(csv.reader(io.StringIO(result.stdout)))) == 2


def test_export_since_nonsense_says_which_forms_work(ledger: Invoke) -> None:
    result = ledger("export", "--since", "yesterday")
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [("name,email\nann,a@example.com\n", "no phone column"), ("", "is empty")],
)
def test_import_refuses_a_file_it_cannot_read(
    ledger: Invoke, tmp_path: Path, content: str, message: str
) -> None:
    source = tmp_path / "contacts.csv"
    source.write_text(content)
    result = ledger("import", str(source))
    assert result.exit_code == 1
    assert message in result.stderr
    no_traceback(result)


def test_import_of_a_non_utf8_file_says_how_to_fix_it(ledger: Invoke, tmp_path: Path) -> None:
    source = tmp_path / "latin1.csv"
    source.write_bytes("phone,reason\n+12065550108,d\xe9j\xe0 parti\n".encode("latin-1"))
    result = ledger("import", str(source))
    assert result.exit_code == 1
    assert "CSV UTF-8" in result.stderr
    no_traceback(result)


# --- serve's start-up checks (they fail before anything listens) --------------------------


def test_serve_refuses_an_unmigrated_database(stopline: Invoke) -> None:
    result = stopline("serve", "--port", "1")
    assert result.exit_code == 1
    assert "stopline db upgrade" in result.stderr
    assert "listening" not in result.stdout


def test_serve_refuses_broken_rules(ledger: Invoke, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("keywords: [\n")
    result = ledger("serve", "--port", "1", STOPLINE_RULES_PATH=str(broken))
    assert result.exit_code == 1
    assert f"{broken}:2" in result.stderr
    no_traceback(result)


def test_serve_rejects_zero_workers(ledger: Invoke) -> None:
    assert ledger("serve", "--workers", "0").exit_code == 2


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, ["Twilio:   NOT configured: set TWILIO_AUTH_TOKEN", "set STOPLINE_API_TOKEN",
              "set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET"]),
        ({"twilio_auth_token": "t", "api_token": "a", "api_token_name": "crm"},
         ["Twilio:   configured", "POST http://127.0.0.1:8000/webhooks/twilio",
          "set STOPLINE_PUBLIC_URL", "API:      configured (tokens: crm)"]),
        ({"twilio_auth_token": "t", "public_url": "https://sms.example.com/"},
         ["POST https://sms.example.com/webhooks/twilio"]),
        ({}, ["Telnyx:   off: set TELNYX_PUBLIC_KEY", "Plivo:    off: set PLIVO_AUTH_TOKEN",
              "Bandwidth: off: set BANDWIDTH_CALLBACK_USERNAME and BANDWIDTH_CALLBACK_PASSWORD",
              "Vonage:   off: set VONAGE_SIGNATURE_SECRET",
              "Sinch:    off: set SINCH_CALLBACK_USERNAME and SINCH_CALLBACK_PASSWORD"]),
        ({"telnyx_public_key": "k", "sinch_callback_username": "u",
          "sinch_callback_password": "p", "sinch_replies": "carrier"},
         ["Telnyx:   on; POST http://127.0.0.1:8000/webhooks/telnyx; no replies (set "
          "TELNYX_API_KEY to send them)",
          "Sinch:    on; POST http://127.0.0.1:8000/webhooks/sinch; replies by carrier"]),
    ],
)  # fmt: skip
def test_banner_names_what_is_configured_and_what_to_set(
    extra: dict[str, str], expected: list[str], tmp_path: Path
) -> None:
    from stopline.server.serve import banner

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=f"sqlite:///{tmp_path / 'b.db'}", rules_path=RULES, **extra
    )
    services = build_services(settings)
    try:
        text = "\n".join(banner(settings, services))
    finally:
        services.close()
    for line in expected:
        assert line in text
    assert "listening on http://127.0.0.1:8000" in text


@pytest.mark.parametrize(
    "url",
    ["foo://nowhere", "sqlite:////nonexistent-dir/x.db", "postgresql+psycopg://u@127.0.0.1:1/x"],
)
@pytest.mark.parametrize("command", [["db", "upgrade"], ["status", CONTACT], ["serve"]])
def test_a_bad_database_url_is_a_clear_error(
    stopline: Invoke, url: str, command: list[str]
) -> None:
    result = stopline(*command, STOPLINE_DATABASE_URL=url)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert "database" in result.stderr
    no_traceback(result)


def test_export_to_a_missing_directory_is_a_clear_error(ledger: Invoke, tmp_path: Path) -> None:
    result = ledger("export", "--out", str(tmp_path / "missing" / "x.csv"))
    assert result.exit_code == 1
    assert "does not exist" in result.stderr
    no_traceback(result)


@pytest.mark.postgres
def test_upgrade_optout_export_on_postgresql(stopline: Invoke, pg_schema_url: str) -> None:
    def run(*args: str) -> Result:
        return stopline(*args, STOPLINE_DATABASE_URL=pg_schema_url)

    assert run("db", "upgrade").exit_code == 0
    assert run("db", "upgrade").exit_code == 0  # idempotent
    assert run("optout", CONTACT, "--sender", SENDER, "--reason", "pg").exit_code == 0
    status = json.loads(run("status", CONTACT, "--sender", SENDER, "--json").stdout)
    assert status["status"] == "opted_out"
    assert CONTACT in run("export").stdout
