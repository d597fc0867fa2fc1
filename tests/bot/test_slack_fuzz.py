"""Hypothesis: no body, header or payload makes /slack/events answer 500; unsigned does nothing."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.bot.helpers import EVENTS, SlackDriver

CONTACT = "+12065550123"
_slow = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_printable = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=70)
_commands = st.sampled_from(["/optout", "/optin", "/consent", "/optout-export", "/other", ""])
_texts = st.one_of(
    st.sampled_from(["2065550123", "(206) 555-0123 sender=all", "since=2026-01-01", ""]),
    st.text(max_size=120),
)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def _changes(driver: SlackDriver) -> int:
    return len(driver.services.consent.events(CONTACT))


@_slow
@given(body=st.binary(max_size=300), timestamp=_printable, signature=_printable)
def test_unsigned_or_forged_never_500_and_change_nothing(
    slack: SlackDriver, body: bytes, timestamp: str, signature: str
) -> None:
    headers = {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}
    response = slack.client.post(EVENTS, data=body, headers=headers)
    assert response.status_code == 401, response.get_data(as_text=True)
    assert _changes(slack) == 0


@_slow
@given(command=_commands, text=_texts, user=st.text(max_size=12), team=st.text(max_size=12))
def test_signed_commands_with_any_fields_never_500(
    slack: SlackDriver, command: str, text: str, user: str, team: str
) -> None:
    body = slack.command_body(command, text, user=user, team=team)
    response = slack.post(body)
    assert response.status_code < 500, response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


_content_types = st.sampled_from(
    ["application/x-www-form-urlencoded", "application/json", "text/plain", "application/json; x=1"]
)


@_slow
@given(payload=_json, raw=st.binary(max_size=200), content_type=_content_types)
def test_signed_payloads_of_any_shape_never_500(
    slack: SlackDriver, payload: object, raw: bytes, content_type: str
) -> None:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    assert slack.post(body).status_code < 500
    assert slack.post(json.dumps(payload).encode(), content_type=content_type).status_code < 500
    assert slack.post(raw, content_type=content_type).status_code < 500


@_slow
@given(
    value=st.text(max_size=60),
    action=st.sampled_from(
        ["card_opt_out", "card_opt_in", "review_opt_out", "review_not_opt_out", "other"]
    ),
)
def test_signed_clicks_with_any_value_never_500(
    slack: SlackDriver, value: str, action: str
) -> None:
    assert slack.click(action, value).status_code < 500
