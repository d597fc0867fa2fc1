"""`stopline reviews`, `stopline history` and `stopline export --until` on a real SQLite ledger."""

from __future__ import annotations

import csv
import getpass
import io
import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from core.config import Settings
from core.model import Actor, InboundMessage, Source
from core.services import ConsentService
from ledger.adapter import SqlLedger
from stopline.cli.main import main
from stopline.wiring import Services, build_services
from tests.unit.test_cli import CONTACT, RULES, SENDER, Invoke, no_traceback
from web.serialize import event_json, review_json

ME = f"cli:{getpass.getuser()}"
_sids = itertools.count(1)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Settings for one test: its own SQLite file, the shipped rules, no developer .env."""
    monkeypatch.chdir(tmp_path)  # Settings reads ./.env; the test's directory has none
    return {
        "STOPLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "STOPLINE_RULES_PATH": str(RULES),
    }


@pytest.fixture
def ledger(env: dict[str, str]) -> Invoke:
    """`stopline ARGS...` over a ledger migrated by `stopline db upgrade`."""

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    assert invoke("db", "upgrade").exit_code == 0
    return invoke


@pytest.fixture
def services(ledger: Invoke, env: dict[str, str]) -> Iterator[Services]:
    """The service layer over the CLI's ledger, to seed it as the hook and the API would."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=env["STOPLINE_DATABASE_URL"], rules_path=RULES
    )
    built = build_services(settings)
    yield built
    built.close()


def text_in(services: Services, body: str, contact: str = CONTACT, at: datetime | None = None
            ) -> None:  # fmt: skip
    """A contact's text, as the Twilio hook records it (at a given time)."""
    consent = services.consent
    if at is not None:
        consent = ConsentService(SqlLedger(services.database), services.rules, clock=lambda: at)
    message_id = f"SM{next(_sids):032x}"
    consent.receive_message(
        InboundMessage("twilio", message_id, contact, SENDER, body, at or datetime.now(UTC))
    )


def ok(result: object) -> str:
    assert getattr(result, "exit_code", None) == 0, getattr(result, "output", result)
    return str(getattr(result, "stdout", ""))


# --- reviews -------------------------------------------------------------------------------


def test_reviews_lists_open_items_with_what_an_agent_needs(
    ledger: Invoke, services: Services
) -> None:
    text_in(services, "please stop texting me")
    text_in(services, "wrong number", contact="+14155550100")
    out = ok(ledger("reviews"))
    (first, second) = services.consent.reviews()
    for item in (first, second):
        assert f"#{item.id}  open, decide by {item.deadline:%Y-%m-%d}" in out
        assert f"contact {item.contact}, to {SENDER}" in out
        assert f"opened {item.opened_at:%Y-%m-%d}" in out
    assert 'text    "please stop texting me"' in out and 'phrase  "wrong number"' in out
    assert out.index(f"#{first.id}") < out.index(f"#{second.id}")  # oldest first
    assert "2 open review item(s)." in out
    assert ok(ledger("reviews", "list")) == out  # the subcommand is the same list
    only = ok(ledger("reviews", "--phone", "(415) 555-0100"))
    assert f"#{second.id}" in only and f"#{first.id}" not in only


def test_reviews_json_is_the_apis_shape(ledger: Invoke, services: Services) -> None:
    text_in(services, "remove me")
    body = json.loads(ok(ledger("reviews", "--json")))
    assert body == {"reviews": [review_json(item) for item in services.consent.reviews()]}


def test_a_review_is_decided_once_with_who_decided(ledger: Invoke, services: Services) -> None:
    text_in(services, "please stop texting me")
    (item,) = services.consent.reviews()
    out = ok(ledger("reviews", "decide", str(item.id), "--opt-out"))
    assert f"Review #{item.id} opted out by {ME}" in out
    assert f"{CONTACT} from {SENDER}: opted_out (may NOT be texted)" in out
    status = services.consent.status(CONTACT, SENDER)
    assert (status.can_send, status.opted_out_by) == (False, Source.CONTACT)  # as the own STOP

    second = ledger("reviews", "decide", str(item.id), "--dismiss")
    assert second.exit_code == 3
    assert f"already decided by {ME}" in second.stderr and "opted out" in second.stderr
    no_traceback(second)
    assert services.consent.review(item.id).decision == "opt_out"  # the first one counts

    assert ok(ledger("reviews")).strip() == "No open review items."
    decided = ok(ledger("reviews", "--status", "decided"))
    assert f"#{item.id}  decided: opted out by {ME} at " in decided
    assert "1 decided review item(s)." in decided
    assert f"#{item.id}" in ok(ledger("reviews", "--status", "all"))
    shown = json.loads(ok(ledger("reviews", "show", str(item.id), "--json")))
    assert shown == review_json(services.consent.review(item.id))


def test_dismissing_changes_nothing_and_actor_names_who(ledger: Invoke, services: Services) -> None:
    text_in(services, "not interested")
    (item,) = services.consent.reviews()
    out = ok(ledger("reviews", "decide", str(item.id), "--dismiss", "--actor", " Ann  Lee "))
    assert f"dismissed (not an opt-out) by Ann Lee ({ME})" in out
    assert services.consent.status(CONTACT, SENDER).can_send
    closed = [e for e in services.consent.events(CONTACT) if e.action.value == "review_closed"]
    assert [e.actor for e in closed] == [f"Ann Lee ({ME})"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["decide", "{id}"], 2, "--opt-out or --dismiss"),
        (["decide", "{id}", "--opt-out", "--dismiss"], 2, "--opt-out or --dismiss"),
        (["decide", "{id}", "--opt-out", "--actor", "  "], 2, "must name someone"),
        (["decide", "999999", "--opt-out"], 1, "there is no review item 999999"),
        (["decide", "0", "--dismiss"], 1, "there is no review item 0"),
        (["decide", str(2**70), "--dismiss"], 1, "there is no review item"),
        (["decide", "abc", "--dismiss"], 2, "is not a valid integer"),
        (["show", "999999"], 1, "there is no review item 999999"),
        (["--status", "closedd"], 2, "'open', 'decided', 'all'"),
        (["list", "--limit", "0"], 2, "--limit"),
        (["--phone", "12"], 2, "not a valid phone number"),
    ],
)
def test_review_mistakes_are_clear_errors_that_change_nothing(
    ledger: Invoke, services: Services, args: list[str], code: int, message: str
) -> None:
    text_in(services, "please stop texting me")
    (item,) = services.consent.reviews()
    result = ledger("reviews", *[arg.format(id=item.id) for arg in args])
    assert result.exit_code == code, result.output
    assert message in result.stderr
    no_traceback(result)
    assert services.consent.reviews() == [item]  # still open


def test_a_contacts_words_cannot_drive_the_terminal(ledger: Invoke, services: Services) -> None:
    text_in(services, "remove me\x1b]0;owned\x07\x1b[2J\nnext line\u202e")
    out = ok(ledger("reviews"))
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert r'"remove me\x1b]0;owned\x07\x1b[2J\nnext line\u202e"' in out


# --- history -------------------------------------------------------------------------------


def test_history_shows_each_event_with_who_and_why(ledger: Invoke, services: Services) -> None:
    text_in(services, "STOP")
    services.consent.opt_out(CONTACT, None, Actor(Source.API, "crm"), "asked on a call")
    out = ok(ledger("history", CONTACT))
    lines = out.splitlines()
    assert lines[0].endswith("opt_out  account-wide  subscribed -> opted_out")  # newest first
    assert 'by      api "crm"' in out and 'reason  "asked on a call"' in out
    assert f"opt_out  sender {SENDER}  subscribed -> opted_out" in out
    assert 'by      contact "twilio"' in out
    assert 'rule    opt_out, keyword "STOP"' in out and 'text    "STOP"' in out
    assert "message twilio SM" in out
    assert f"2 event(s) for {CONTACT}, newest first." in out
    # Any form the API takes names the same contact.
    for written in ("(206) 555-0100", "206.555.0100", "+1 206 555 0100", "12065550100"):
        assert ok(ledger("history", written)) == out


def test_history_json_is_the_apis_shape(ledger: Invoke, services: Services) -> None:
    text_in(services, "STOP")
    text_in(services, "START")
    body = json.loads(ok(ledger("history", "206-555-0100", "--json")))
    expected = [event_json(event) for event in services.consent.events(CONTACT)]
    assert body == {"phone": CONTACT, "events": expected}
    assert [e["action"] for e in body["events"]] == ["opt_in", "opt_out"]
    limited = json.loads(ok(ledger("history", CONTACT, "--json", "--limit", "1")))
    assert limited["events"] == expected[:1]
    assert "the newest 1 (--limit shows more)" in ok(ledger("history", CONTACT, "--limit", "1"))


@pytest.mark.parametrize("phone", ["12", "+1 206 555 01x0", "not a number", ""])
def test_history_of_a_malformed_number_says_what_is_wrong(ledger: Invoke, phone: str) -> None:
    result = ledger("history", phone)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and "phone number" in result.stderr
    no_traceback(result)


def test_history_of_a_number_never_seen(ledger: Invoke) -> None:
    assert "No consent events for +12065550100" in ok(ledger("history", "2065550100"))
    assert json.loads(ok(ledger("history", CONTACT, "--json"))) == {"phone": CONTACT, "events": []}


# --- export --until ------------------------------------------------------------------------

MARCH = datetime(2026, 3, 1, tzinfo=UTC)


def _phones(result: object) -> list[str]:
    return [row[0] for row in list(csv.reader(io.StringIO(ok(result))))[1:]]


def test_export_until_is_before_that_time(ledger: Invoke, services: Services) -> None:
    times = [MARCH - timedelta(days=1), MARCH - timedelta(seconds=1), MARCH, MARCH + timedelta(1)]
    for i, moment in enumerate(times):
        text_in(services, "STOP", contact=f"+1206555011{i}", at=moment)
    assert _phones(ledger("export", "--until", "2026-03-01")) == ["+12065550110", "+12065550111"]
    assert _phones(ledger("export", "--until", "2026-03-01T00:00:01Z")) == [
        "+12065550110", "+12065550111", "+12065550112",
    ]  # fmt: skip
    window = ledger("export", "--since", "2026-02-28T12:00:00", "--until", "2026-03-01T01:00+01:00")
    assert _phones(window) == ["+12065550111"]
    assert len(_phones(ledger("export", "--since", "2026-03-01"))) == 2  # until is optional


@pytest.mark.parametrize(
    ("since", "until"), [("2026-03-02", "2026-03-01"), ("2026-03-01", "2026-03-01T00:00:00Z")]
)
def test_export_until_not_after_since_is_refused(ledger: Invoke, since: str, until: str) -> None:
    result = ledger("export", "--since", since, "--until", until)
    assert result.exit_code == 2
    assert "is not later than --since" in result.stderr
    assert result.stdout == ""  # not even a header
    no_traceback(result)


def test_export_until_nonsense_says_which_forms_work(ledger: Invoke) -> None:
    result = ledger("export", "--until", "next week")
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output and "--until" in result.output
