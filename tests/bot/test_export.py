"""/optout-export end to end: signed commands in, the CSV streamed to the fake Slack's file host.

AGENT has the export right here (STOPLINE_SLACK_EXPORT_USERS); who may export, the direct
message and `to=channel` in shared channels are tested in test_export_rights.py.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from core.model import Actor, Source
from tests.bot.conftest import MakeSlack
from tests.bot.fakeslack import Call, FakeSlack
from tests.bot.helpers import AGENT, CHANNEL, TEAM, SlackDriver, ack_text
from tests.rawsqlite import raw_sqlite
from tests.web.helpers import BUSINESS, post_sms, sms

EXPORT = "/optout-export"
GET_URL, COMPLETE = "files.getUploadURLExternal", "files.completeUploadExternal"
ME = Actor(Source.AGENT, f"slack:{TEAM}:{AGENT}")
OTHER_SENDER = "+14155550123"
AGENT_DM = "D" + AGENT.removeprefix("U")  # the fake's conversations.open answer
TO_CHANNEL = "to=channel"


@pytest.fixture
def slack(make_slack: MakeSlack) -> SlackDriver:
    """The default app, with AGENT allowed to export."""
    return make_slack(slack_export_users=[AGENT])


@pytest.fixture(autouse=True)
def temp_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Temporary files go to a directory of this test, which must be empty when it ends."""
    where = tmp_path / "tmp"
    where.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(where))
    yield where
    # The listener removes its file just after its last call to Slack: give it a moment.
    wait_until(lambda: not any(where.iterdir()), "the export's temporary file was not removed")


def wait_until(check: Callable[[], bool], failure: str, timeout: float = 5.0) -> None:
    """Poll `check` until it holds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, failure
        time.sleep(0.02)


def expected_csv(driver: SlackDriver, since: datetime | None = None, sender: str | None = None
                 ) -> bytes:  # fmt: skip
    """The CSV the consent service's own export produces, as bytes."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(driver.services.consent.export_optouts(since, sender))
    return buffer.getvalue().encode()


def uploaded(fake: FakeSlack) -> tuple[Call, bytes]:
    """The finished upload: completeUploadExternal's call and the bytes the file host got."""
    complete = fake.wait_for(COMPLETE)[0]
    file_id = json.loads(complete.params["files"])[0]["id"]
    return complete, fake.uploads[file_id]


def command_ack(driver: SlackDriver, text: str = "", **kwargs: Any) -> tuple[str, str]:
    """Send /optout-export; return the ack's text and response_type."""
    response = driver.command(EXPORT, text, **kwargs)
    body = response.get_json(silent=True) or {}
    return ack_text(response), str(body.get("response_type"))


def test_export_sends_the_services_csv_in_a_direct_message(
    make_slack: MakeSlack, database_url: str
) -> None:
    slack = make_slack(database_url=database_url, slack_export_users=[AGENT])
    consent = slack.services.consent
    consent.opt_out("+1 206-555-0101", None, ME, "asked on the phone")
    consent.opt_out("(206) 555-0102", BUSINESS, Actor(Source.API, "crm"), '=HYPERLINK("x")')
    consent.opt_out("206.555.0103", OTHER_SENDER, ME, "wrong number, “Ünïcode” too")
    assert post_sms(slack.client, sms("STOP please", contact="+12065550123")).status_code == 200

    text, kind = command_ack(slack)
    assert kind == "ephemeral"
    assert text.startswith("Building the export of opted-out contacts (all opt-outs)")
    assert "stopline will send you the file in a direct message" in text
    complete, body = uploaded(slack.fake)
    assert slack.fake.of("conversations.open")[0].params["users"] == AGENT

    assert body == expected_csv(slack)
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0][:8] == ["phone", "scope", "sender", "opted_out_by", "actor", "at",
                           "message_text", "keyword"]  # fmt: skip
    by_phone = {row[0]: row for row in rows[1:]}
    assert set(by_phone) == {"+12065550101", "+12065550102", "+12065550103", "+12065550123"}
    assert by_phone["+12065550123"][3] == "contact" and "STOP please" in by_phone["+12065550123"]
    assert by_phone["+12065550102"][-1] == '\'=HYPERLINK("x")'  # a formula never runs
    methods = [c.method for c in slack.fake.calls if c.method in (GET_URL, "upload", COMPLETE)]
    assert methods == [GET_URL, "upload", COMPLETE]
    ticket = slack.fake.of(GET_URL)[0].params
    assert ticket["length"] == str(len(body))
    assert ticket["filename"] == f"stopline-optouts-{datetime.now(UTC).date().isoformat()}.csv"
    upload = slack.fake.of("upload")[0]
    assert "authorization" not in upload.headers and upload.headers["content-length"] == str(
        len(body)
    )
    assert complete.params["channel_id"] == AGENT_DM  # nothing reaches the channel
    assert [c for c in slack.fake.of("chat.postMessage") if c.params["channel"] == CHANNEL] == []
    assert slack.fake.of("conversations.info") == []
    assert json.loads(complete.params["files"])[0]["title"].startswith("Opted-out contacts")
    comment = complete.params["initial_comment"]
    assert comment == f"Opted-out contacts: 4 rows · all opt-outs · requested by <@{AGENT}>"
    assert slack.fake.of("respond") == []  # a quick export sends no progress notes


def test_sender_covers_its_own_and_account_wide_optouts(slack: SlackDriver) -> None:
    consent = slack.services.consent
    consent.opt_out("+12065550101", None, ME)  # account-wide: covers every sender
    consent.opt_out("+12065550102", BUSINESS, ME)
    consent.opt_out("+12065550103", OTHER_SENDER, ME)

    text, _ = command_ack(slack, "sender=+1 (415) 555-0123")
    assert "sender (415) 555-0123 (+14155550123) with account-wide opt-outs" in text
    complete, body = uploaded(slack.fake)
    assert body == expected_csv(slack, sender=OTHER_SENDER)
    assert [row[0] for row in csv.reader(io.StringIO(body.decode()))][1:] == [
        "+12065550101", "+12065550103"
    ]  # fmt: skip
    assert complete.params["initial_comment"] == (
        "Opted-out contacts: 2 rows · sender (415) 555-0123 (+14155550123) with account-wide "
        f"opt-outs · requested by <@{AGENT}>"
    )
    assert slack.fake.of(GET_URL)[0].params["filename"].endswith("-sender-14155550123.csv")


def test_since_starts_at_midnight_utc_of_that_day(slack: SlackDriver) -> None:
    old = [
        {"phone": "+12065550101", "opted_out_at": "2025-05-31T23:59:59Z"},
        {"phone": "+12065550102", "opted_out_at": "2025-06-01T00:00:00Z"},
        {"phone": "+12065550103", "opted_out_at": "2025-06-01T08:00:00-07:00", "sender": BUSINESS},
    ]
    assert slack.services.consent.import_optouts(old, Actor(Source.IMPORT, "old.csv")).taken == 3
    slack.services.consent.opt_out("+12065550104", OTHER_SENDER, ME)

    text, _ = command_ack(slack, "since=2025-06-01 sender=4155550123")
    assert "(since 2025-06-01 00:00 UTC, sender (415) 555-0123 (+14155550123)" in text
    complete, body = uploaded(slack.fake)
    start = datetime(2025, 6, 1, tzinfo=UTC)
    assert body == expected_csv(slack, start, OTHER_SENDER)
    assert [row[0] for row in csv.reader(io.StringIO(body.decode()))][1:] == [
        "+12065550102", "+12065550104"
    ]  # fmt: skip
    comment = complete.params["initial_comment"]
    assert comment.startswith("Opted-out contacts: 2 rows · since 2025-06-01 00:00 UTC · sender")
    assert (
        slack.fake.of(GET_URL)[0]
        .params["filename"]
        .endswith("-since-2025-06-01-sender-14155550123.csv")
    )


def test_a_future_since_delivers_the_header_and_says_0_rows(slack: SlackDriver) -> None:
    slack.services.consent.opt_out("+12065550101", None, ME)
    text, _ = command_ack(slack, "since=2999-01-01")
    assert "since 2999-01-01 00:00 UTC" in text
    complete, body = uploaded(slack.fake)
    assert body == b"phone,scope,sender,opted_out_by,actor,at,message_text,keyword,rule,reason\r\n"
    assert complete.params["initial_comment"].startswith("Opted-out contacts: 0 rows · since")
    assert slack.fake.of(GET_URL)[0].params["filename"].endswith("-since-2999-01-01.csv")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("since=last-week", "`since=last-week` is not a date; write it as YYYY-MM-DD"),
        ("since=2026-02-30", "is not a date"),
        ("sender=555-01", "`sender=555-01` is not one of your numbers"),
        ("from=2026-01-01", "unknown option `from=`"),
        ("everything please", 'unexpected "everything please"'),
        ("since=2026-01-01 and more", 'unexpected "and more"'),
        ("since=", "`since=` needs a value"),
    ],
)
def test_bad_arguments_answer_the_caller_with_usage(slack: SlackDriver, text: str, says: str
                                                    ) -> None:  # fmt: skip
    answer, kind = command_ack(slack, text)
    assert kind == "ephemeral"
    assert says.lower() in answer.lower()
    assert "`/optout-export [since=YYYY-MM-DD] [sender=PHONE] [to=channel]`" in answer
    assert "Example: `/optout-export since=2026-01-01 sender=+14155550123`" in answer
    time.sleep(0.3)  # nothing may start later either
    assert [c.method for c in slack.fake.calls if c.method != "auth.test"] == []


def test_a_hundred_thousand_optouts_are_delivered_whole(make_slack: MakeSlack) -> None:
    slack = make_slack(slack_export_progress_seconds=0.05, slack_export_users=[AGENT])
    numbers = [f"+1206{200 + i // 10_000:03d}{i % 10_000:04d}" for i in range(100_000)]
    summary = slack.services.consent.import_optouts(
        ({"phone": phone} for phone in numbers), Actor(Source.IMPORT, "seed.csv")
    )
    assert summary.taken == 100_000

    started = time.monotonic()
    command_ack(slack)
    complete = slack.fake.wait_for(COMPLETE, timeout=60)[0]
    took = time.monotonic() - started
    _, body = uploaded(slack.fake)
    rows = body.decode().split("\r\n")
    assert rows[-1] == "" and len(rows) == 100_002  # header, 100,000 rows, final line end
    assert {row.split(",", 1)[0] for row in rows[1:-1]} == set(numbers)
    assert rows[1].startswith("+12062000000,account,,import,seed.csv,")
    assert body == expected_csv(slack)
    assert "Opted-out contacts: 100,000 rows · all opt-outs" in complete.params["initial_comment"]
    # Progress notes every 0.05 s, but never more than 3: response_url takes 5 posts at most.
    time.sleep(0.2)
    notes = slack.fake.of("respond")
    assert len(notes) == 3, [n.params for n in notes]
    assert all(n.params["response_type"] == "ephemeral" for n in notes)
    assert all(n.params["replace_original"] is False for n in notes)
    assert notes[0].params["text"].startswith("Still ")
    assert took < 30


def test_the_ack_comes_back_before_the_export_is_done(slack: SlackDriver) -> None:
    slack.services.consent.opt_out("+12065550101", None, ME)
    gate = threading.Event()
    fake = slack.fake

    def slow_ticket(params: dict[str, Any]) -> dict[str, Any]:
        gate.wait(10)
        return {"ok": True, "file_id": "FSLOW0001", "upload_url": f"{fake.url}/upload/FSLOW0001"}

    fake.answers[GET_URL] = slow_ticket
    text, _ = command_ack(slack)
    assert text.startswith("Building the export of opted-out contacts")
    assert fake.of(COMPLETE) == [] and fake.of("upload") == []  # still being built
    gate.set()
    _, body = uploaded(fake)
    assert body == expected_csv(slack)


def test_two_exports_run_at_once_and_a_third_is_asked_to_wait(
    slack: SlackDriver, temp_dir: Path
) -> None:
    gate = threading.Event()
    ids = itertools.count(1)
    fake = slack.fake

    def slow_ticket(params: dict[str, Any]) -> dict[str, Any]:
        gate.wait(10)
        file_id = f"FSLOW{next(ids):04d}"
        return {"ok": True, "file_id": file_id, "upload_url": f"{fake.url}/upload/{file_id}"}

    fake.answers[GET_URL] = slow_ticket
    assert command_ack(slack)[0].startswith("Building")
    assert command_ack(slack)[0].startswith("Building")
    text, kind = command_ack(slack)
    assert kind == "ephemeral"
    assert text == "2 exports are already being built. Try again when they are posted."
    gate.set()
    fake.wait_for(COMPLETE, 2)
    wait_until(lambda: not any(temp_dir.iterdir()), "the exports did not finish")
    time.sleep(0.2)  # each listener lets go of its place just after removing its file
    assert command_ack(slack)[0].startswith("Building")
    assert len(fake.wait_for(COMPLETE, 3)) == 3


def refuse(error: str, channel: str | None = None) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A Web API answer refusing with `error` (only for `channel`, when given)."""

    def answer(params: dict[str, Any]) -> dict[str, Any]:
        if channel is None or params.get("channel") == channel:
            return {"ok": False, "error": error}
        return {"ok": True, "channel": params.get("channel"), "ts": "1.0"}

    return answer


def failure_in_channel(fake: FakeSlack) -> str:
    """The failure message posted in the command's channel."""
    fake.wait_for("chat.postMessage")
    posts = [c for c in fake.of("chat.postMessage") if c.params.get("channel") == CHANNEL]
    assert len(posts) == 1
    return str(posts[0].params["text"])


def test_not_in_channel_is_told_in_the_channel(slack: SlackDriver) -> None:
    slack.fake.answers[COMPLETE] = refuse("not_in_channel")
    command_ack(slack, TO_CHANNEL)
    text = failure_in_channel(slack.fake)
    assert text.startswith(f":warning: The opt-out export <@{AGENT}> asked for failed:")
    assert "Invite it with `/invite @stopline`" in text and "Nothing was posted." in text
    assert slack.fake.of("respond") == []


def test_a_channel_that_refuses_the_bot_tells_the_caller(slack: SlackDriver) -> None:
    slack.fake.answers[COMPLETE] = refuse("not_in_channel")
    slack.fake.answers["chat.postMessage"] = refuse("not_in_channel", CHANNEL)
    command_ack(slack, TO_CHANNEL)
    note = slack.fake.wait_for("respond")[0].params
    assert note["response_type"] == "ephemeral" and note["replace_original"] is False
    assert "stopline is not in this channel. Invite it with `/invite @stopline`" in note["text"]


def test_a_direct_message_the_bot_cannot_post_to_tells_the_caller(slack: SlackDriver) -> None:
    slack.fake.answers[COMPLETE] = refuse("channel_not_found")
    slack.fake.answers["chat.postMessage"] = refuse("channel_not_found", "D0SOMEONE")
    command_ack(slack, TO_CHANNEL, channel="D0SOMEONE")
    note = slack.fake.wait_for("respond")[0].params
    assert "cannot post files in this conversation. Run the command in a channel" in note["text"]


class FileHost:
    """An upload URL that answers with a chosen status (Slack's file host having a bad day)."""

    def __init__(self, status: int, location: str = "") -> None:
        self.received: list[bytes] = []
        host = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                host.received.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/upload/FBAD"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("status", [500, 403, 201, 302])
def test_an_upload_refused_by_the_file_host_is_told(slack: SlackDriver, status: int) -> None:
    slack.services.consent.opt_out("+12065550101", None, ME)
    host = FileHost(status, location=f"{slack.fake.url}/upload/FREDIRECT")
    slack.fake.answers[GET_URL] = lambda params: {
        "ok": True, "file_id": "FBAD", "upload_url": host.url
    }  # fmt: skip
    try:
        command_ack(slack, TO_CHANNEL)
        text = failure_in_channel(slack.fake)
    finally:
        host.close()
    assert f"Slack's file host answered HTTP {status} while the file was sent." in text
    assert host.received == [expected_csv(slack)]
    assert slack.fake.of(COMPLETE) == [] and slack.fake.of("upload") == []  # no redirect followed


def test_an_unreadable_ledger_is_told_and_nothing_is_uploaded(
    slack: SlackDriver, bot_database_url: str
) -> None:
    with raw_sqlite(bot_database_url.removeprefix("sqlite:///")) as db:
        db.execute("ALTER TABLE consent RENAME TO consent_gone")
    command_ack(slack, TO_CHANNEL)
    text = failure_in_channel(slack.fake)
    assert "the consent ledger could not be read. Try again in a few minutes." in text
    assert slack.fake.of(GET_URL) == []


def test_a_failure_of_a_private_export_is_told_in_the_direct_message(slack: SlackDriver) -> None:
    slack.fake.answers[COMPLETE] = refuse("is_archived")
    command_ack(slack)
    posts = slack.fake.wait_for("chat.postMessage")
    assert [post.params["channel"] for post in posts] == [AGENT_DM]
    text = posts[0].params["text"]
    assert text.startswith(":warning: The opt-out export you asked for failed:")
    assert "Slack refused the file in stopline's direct message with you (`is_archived`)" in text
    assert "Nothing was posted." in text and "/invite" not in text
