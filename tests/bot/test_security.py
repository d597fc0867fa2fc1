"""Slack requests are served only when signed, fresh, not replayed and from a served workspace."""

from __future__ import annotations

import time

import pytest

from core.model import Status
from tests.bot.conftest import MakeSlack
from tests.bot.helpers import SlackDriver, ack_text, signature
from tests.web.helpers import bearer

CONTACT = "+12065550123"


def opted_out(driver: SlackDriver) -> bool:
    return driver.services.consent.status(CONTACT).status is Status.OPTED_OUT


def test_a_signed_command_is_served(slack: SlackDriver) -> None:
    assert slack.command("/optout", "2065550123").status_code == 200
    slack.fake.wait_for("respond")
    assert opted_out(slack)


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda body, ts: "", id="no signature"),
        pytest.param(lambda body, ts: "v0=" + "0" * 64, id="wrong signature"),
        pytest.param(lambda body, ts: signature(body, ts, "another-secret"), id="other secret"),
        pytest.param(lambda body, ts: signature(body + b"&x=1", ts), id="other body"),
        pytest.param(lambda body, ts: signature(body, str(int(ts) + 1)), id="other timestamp"),
        pytest.param(lambda body, ts: signature(body, ts).replace("v0=", "v1="), id="version"),
    ],
)
def test_a_forged_request_is_refused_and_changes_nothing(slack: SlackDriver, forge) -> None:
    body = slack.command_body("/optout", "2065550123")
    ts = str(int(time.time()))
    response = slack.post(body, timestamp=ts, sign=forge(body, ts))
    assert response.status_code == 401
    assert "Traceback" not in response.get_data(as_text=True)
    time.sleep(0.2)
    assert slack.fake.calls == [] and not opted_out(slack)


@pytest.mark.parametrize("age", [301, 3600, -3600])
def test_a_stale_or_future_request_is_refused(slack: SlackDriver, age: int) -> None:
    body = slack.command_body("/optout", "2065550123")
    ts = str(int(time.time()) - age)
    assert slack.post(body, timestamp=ts).status_code == 401
    assert not opted_out(slack)


def test_a_garbage_timestamp_is_refused(slack: SlackDriver) -> None:
    body = slack.command_body("/optout", "2065550123")
    assert slack.post(body, timestamp="yesterday", sign="v0=00").status_code == 401


def test_a_replayed_request_is_refused(slack: SlackDriver) -> None:
    body = slack.command_body("/optout", "2065550123 first")
    ts = str(int(time.time()))
    assert slack.post(body, timestamp=ts).status_code == 200
    slack.fake.wait_for("respond")
    again = slack.post(body, timestamp=ts)
    assert again.status_code == 401 and again.get_json() == {"error": "replayed request"}
    time.sleep(0.2)
    assert len(slack.fake.of("respond")) == 1
    assert len(slack.services.consent.events(CONTACT)) == 1


def test_a_replay_to_another_instance_on_the_same_ledger_is_refused(make_slack: MakeSlack) -> None:
    first, second = make_slack(), make_slack()
    body = first.command_body("/optout", "2065550123")
    ts = str(int(time.time()))
    assert first.post(body, timestamp=ts).status_code == 200
    assert second.post(body, timestamp=ts).status_code == 401


def test_a_workspace_not_served_is_turned_away(make_slack: MakeSlack) -> None:
    slack = make_slack(slack_teams=["T0SERVED"])
    response = slack.command("/optout", "2065550123", team="T0OTHER")
    assert "not served" in ack_text(response)
    time.sleep(0.2)
    assert not opted_out(slack)
    slack.command("/optout", "2065550123", team="T0SERVED")
    slack.fake.wait_for("respond")
    assert opted_out(slack)


def test_a_click_from_a_workspace_not_served_is_turned_away(make_slack: MakeSlack) -> None:
    slack = make_slack(slack_teams=["T0SERVED"])
    slack.click("card_opt_out", '{"phone": "+12065550123"}', team="T0OTHER")
    time.sleep(0.3)
    assert not opted_out(slack)


@pytest.mark.parametrize(
    "body",
    [b"", b"payload=", b"payload=%7Bnot-json", b"command=%2Foptout", b"\xff\xfe\x00garbage",
     b"payload=" + b"%7B%22type%22%3A%22block_actions%22%7D"],
)  # fmt: skip
def test_signed_garbage_never_answers_500(slack: SlackDriver, body: bytes) -> None:
    response = slack.post(body)
    assert response.status_code < 500
    assert "Traceback" not in response.get_data(as_text=True)


def test_an_oversized_body_is_refused_before_anything_runs(slack: SlackDriver) -> None:
    body = slack.command_body("/optout", "2065550123 " + "x" * 70_000)
    assert slack.post(body).status_code == 413
    assert not opted_out(slack)


def test_without_slack_settings_the_rest_runs_and_healthz_says_slack_is_off(
    make_slack: MakeSlack,
) -> None:
    driver = make_slack(slack_bot_token=None, slack_signing_secret=None, slack_channel=None)
    assert driver.client.get("/healthz").get_json()["slack"] == "off"
    assert driver.client.post("/slack/events", data=b"x").status_code == 404
    assert driver.client.get("/v1/consent/+12065550123", headers=bearer()).status_code == 200


def test_healthz_says_slack_is_configured(slack: SlackDriver) -> None:
    assert slack.client.get("/healthz").get_json()["slack"] == "configured"


def test_slack_api_unreachable_is_told_plainly_not_a_500(make_slack: MakeSlack) -> None:
    slack = make_slack()
    slack.fake.close()  # auth.test, Bolt's first call, cannot connect
    response = slack.command("/optout", "2065550123")
    assert response.status_code == 200
    assert "could not reach Slack's Web API" in ack_text(response)
    assert not opted_out(slack)


def test_a_revoked_token_is_told_plainly(make_slack: MakeSlack) -> None:
    slack = make_slack()
    slack.fake.answers["auth.test"] = lambda params: {"ok": False, "error": "invalid_auth"}
    response = slack.command("/optout", "2065550123")
    assert response.status_code == 200 and "reinstall" in ack_text(response)
    assert not opted_out(slack)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{w", "application/x-www-form-urlencoded"),  # Bolt reads any body starting "{" as JSON
        (b"[1, 2]", "application/json"),
        (b"not json", "application/json"),
        (b"payload=%5B%5D", "application/x-www-form-urlencoded"),  # a payload that is a list
    ],
)
def test_signed_bodies_bolt_cannot_read_are_refused_with_400(
    slack: SlackDriver, body: bytes, content_type: str
) -> None:
    response = slack.post(body, content_type=content_type)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert "not" in response.get_json()["error"]
