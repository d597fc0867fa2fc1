"""The Slack bot inside a real `stopline serve` (gunicorn, 2 forked workers) over real HTTP."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from tests.bot.fakeslack import FakeSlack
from tests.bot.helpers import AGENT, BOT_TOKEN, NOTICES, SIGNING_SECRET, TEAM, signature
from tests.integration.test_serve import (
    CONTACT,
    Server,
    consent,
    message,
    post_twilio,
    sign,
    start_server,
    stop,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    running = FakeSlack()
    yield running
    running.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, fake: FakeSlack) -> Iterator[Server]:
    running = start_server(
        tmp_path_factory.mktemp("serve-slack"),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake.api_url,
        STOPLINE_SLACK_CHANNEL=NOTICES,
        STOPLINE_SLACK_OPTIN_USERS="UBOSS001",
    )
    try:
        yield running
    finally:
        stop(running.process)


def post_slack(
    server: Server, body: bytes, timestamp: str, signed: bytes | None = None
) -> tuple[int, str]:
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature(body if signed is None else signed, timestamp),
    }
    request = urllib.request.Request(f"{server.base}/slack/events", body, headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def command_body(fake: FakeSlack, text: str) -> bytes:
    from urllib.parse import urlencode

    return urlencode({
        "team_id": TEAM, "user_id": AGENT, "command": "/optout", "text": text,
        "channel_id": "C0AGENTS", "response_url": fake.response_url("serve"),
        "trigger_id": "1.2.3", "api_app_id": "A1",
    }).encode()  # fmt: skip


def test_an_agent_optout_through_the_real_server(server: Server, fake: FakeSlack) -> None:
    body = command_body(fake, "(206) 555-0142 asked on the phone")
    ts = str(int(time.time()))
    status, text = post_slack(server, body, ts)
    assert status == 200 and "Opting out (206) 555-0142" in text
    [reply] = fake.wait_for("respond", 1, timeout=20)
    assert "Opted out (206) 555-0142 from every number" in reply.params["text"]
    assert consent(server, CONTACT, "+12065550199")["can_send"] is False
    # The same signed request again, whichever worker takes it: refused.
    for _ in range(4):
        assert post_slack(server, body, ts)[0] == 401
    assert len(fake.of("respond")) == 1


def test_a_forged_request_to_the_real_server_is_refused(server: Server, fake: FakeSlack) -> None:
    body = command_body(fake, "(206) 555-0143")
    status, _ = post_slack(server, body + b"&x=1", str(int(time.time())), signed=body)
    assert status == 401


def test_a_stop_by_text_is_noticed_in_the_channel_from_a_forked_worker(
    server: Server, fake: FakeSlack
) -> None:
    params = message("STOP", "SM" + "f" * 32, contact="+12065550144")
    assert post_twilio(server, params, sign(server, params))[0] == 200
    posts = fake.wait_for("chat.postMessage", 1, timeout=20)
    assert any(p.params.get("channel") == NOTICES and "555-0144" in str(p.params) for p in posts)


def test_banner_says_where_slack_posts(server: Server) -> None:
    out = server.output()
    assert f"Slack:    configured; commands and buttons at {server.base}/slack/events" in out
    assert f"Notices:  Slack channel {NOTICES}" in out
