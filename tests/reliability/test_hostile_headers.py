"""Failure drill "Hostile headers": whatever a stranger puts in the headers stopline reads before
the signature or token check, every door answers 4xx (400/401/403/404/405/413/415), never a 5xx
and never a logged traceback.

The doors and what each reads before trusting the request: Slack (X-Slack-Request-Timestamp,
X-Slack-Signature, X-Slack-Retry-*, Content-Type), Twilio (X-Twilio-Signature,
X-Twilio-Webhooks-Signature-Settings, Content-Type and its charset, Content-Length, Host and the
X-Forwarded-* a proxy adds), the API (Authorization) and the ops endpoints. Hypothesis sends
arbitrary values through the Flask test client (any text, even beyond latin-1); raw bytes that
no client library would send go through a real `stopline serve` on 127.0.0.1.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from core.config import Settings
from stopline.slack_http import MAX_SKEW, signature_ok
from stopline.wiring import build_services, close_app, migrate, wire_app
from tests.bot.conftest import slack_settings
from tests.bot.fakeslack import FakeSlack
from tests.bot.helpers import EVENTS, SIGNING_SECRET, signature
from tests.conftest import RULES
from tests.web.helpers import API_TOKEN, HOOK, sign, sms

REFUSALS = {400, 401, 403, 404, 405, 411, 413, 415, 431}

# Values a parser of numbers, text or lists may not expect.
_NUMBERS = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.integers(min_value=300, max_value=5000).map(lambda n: "9" * n),  # float overflow, int cap
    st.integers(min_value=300, max_value=400).map(lambda n: "-" + "1" * n),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "1e309", "-0", "0x10", "1_000",
                     "١٢٣", "²", "１２３", " 1700000000", "1700000000 ", "+1700000000", "0" * 20]),
)  # fmt: skip
_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"),
    max_size=300,
)
_ODD = st.sampled_from(["", " ", "\t", "v0=", "v0=" + "0" * 64,
                    "key=k,algorithm=", "algorithm=HMAC_SHA512", "algorithm", ",,,=,=",
                    "Bearer", "Bearer ", "bearer  x", "Basic dGVzdA==", "Bearer " + "é" * 50,
                    "text/plain; charset=utf-7", "application/x-www-form-urlencoded; charset=x",
                    "multipart/form-data", "multipart/form-data; boundary=",
                    "application/json; charset=latin-1", "localhost:abc", "[::1", "h:99999999",
                    "localhost:-1", "ünïcode.example", "a" * 5000])  # fmt: skip
HOSTILE = st.one_of(_NUMBERS, _TEXT, _ODD)


def drill(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])  # fmt: skip


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One app with every door on (Twilio, API, Slack) over a SQLite ledger."""
    fake = FakeSlack()
    url = f"sqlite:///{tmp_path_factory.mktemp('headers') / 'ledger.db'}"
    config = slack_settings(url, fake)
    migrate(config)
    services = build_services(config)
    built = wire_app(config, services)
    try:
        yield built
    finally:
        close_app(built, services)
        fake.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _refused(response: TestResponse, caplog: pytest.LogCaptureFixture) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code in REFUSALS, (response.status_code, body[:300])
    assert "Traceback" not in body
    tracebacks = [r for r in caplog.records if r.exc_info and r.levelno >= logging.ERROR]
    assert not tracebacks, tracebacks[0].getMessage()
    caplog.clear()


def _headers(data: st.DataObject, names: list[str]) -> dict[str, str]:
    chosen = data.draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
    return {name: data.draw(HOSTILE, label=name) for name in chosen}


SLACK_HEADERS = ["X-Slack-Request-Timestamp", "X-Slack-Signature", "X-Slack-Retry-Num",
                 "X-Slack-Retry-Reason", "Content-Type", "Host", "X-Forwarded-For",
                 "X-Forwarded-Proto", "X-Forwarded-Host"]  # fmt: skip
TWILIO_HEADERS = ["X-Twilio-Signature", "X-Twilio-Webhooks-Signature-Settings", "Content-Type",
                  "Host", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host",
                  "X-Forwarded-Port", "I-Twilio-Idempotency-Token"]  # fmt: skip
API_HEADERS = ["Authorization", "Content-Type", "Host", "X-Forwarded-For", "X-Forwarded-Proto"]
OPS_HEADERS = ["Authorization", "Host", "Accept", "X-Forwarded-For", "If-None-Match"]


@drill(150)
@given(data=st.data())
def test_slack_door(client: FlaskClient, caplog: pytest.LogCaptureFixture, data: st.DataObject
                    ) -> None:  # fmt: skip
    headers = _headers(data, SLACK_HEADERS)
    body = b"command=%2Foptout&text=%2B12065550123&user_id=U1&team_id=T0001"
    if data.draw(st.booleans(), label="a valid signature for the timestamp sent"):
        # The signature matches whatever timestamp is sent: only the timestamp is at fault.
        timestamp = headers.setdefault("X-Slack-Request-Timestamp", "1")
        if timestamp.isascii():
            headers["X-Slack-Signature"] = signature(body, timestamp)
    _refused(client.post(EVENTS, data=body, headers=headers), caplog)


@drill(150)
@given(data=st.data())
def test_twilio_door(client: FlaskClient, caplog: pytest.LogCaptureFixture, data: st.DataObject
                     ) -> None:  # fmt: skip
    form = sms("STOP")
    headers = _headers(data, TWILIO_HEADERS)
    if data.draw(st.booleans(), label="a genuine signature with the other headers hostile"):
        headers["X-Twilio-Signature"] = sign(form)
        headers.pop("Host", None)  # the signature covers the URL, so a new Host is a forgery
    length = data.draw(st.none() | _NUMBERS, label="Content-Length")
    overrides = {} if length is None else {"CONTENT_LENGTH": length}
    content_type = headers.pop("Content-Type", None)
    response = client.post(HOOK, data=form, headers=headers, content_type=content_type,
                           environ_overrides=overrides)  # fmt: skip
    if response.status_code == 200:  # the genuine signature, and nothing the hook minds
        assert "X-Twilio-Signature" in headers and length is None
        return
    _refused(response, caplog)


@drill(150)
@given(data=st.data())
def test_api_door(client: FlaskClient, caplog: pytest.LogCaptureFixture, data: st.DataObject
                  ) -> None:  # fmt: skip
    headers = _headers(data, API_HEADERS)
    if data.draw(st.booleans(), label="the token with hostile bytes around it"):
        left, right = data.draw(_TEXT, label="before"), data.draw(_TEXT, label="after")
        headers["Authorization"] = f"Bearer {left}{API_TOKEN}{right}"
    path, method = data.draw(st.sampled_from([
        ("/v1/optouts", "POST"), ("/v1/consent/+12065550123", "GET"),
        ("/v1/consent/check", "POST"), ("/v1/optouts", "GET")]))  # fmt: skip
    response = client.open(path, method=method, headers=headers, json={"phone": "+12065550123"})
    if headers.get("Authorization") == f"Bearer {API_TOKEN}" or response.status_code < 300:
        return  # a valid token after all (surrounding whitespace is stripped)
    _refused(response, caplog)


@drill(80)
@given(data=st.data())
def test_ops_door(client: FlaskClient, caplog: pytest.LogCaptureFixture, data: st.DataObject
                  ) -> None:  # fmt: skip
    headers = _headers(data, OPS_HEADERS)
    path = data.draw(st.sampled_from(["/healthz", "/metrics", "/openapi.json"]))
    response = client.get(path, headers=headers)
    if response.status_code != 200:  # werkzeug refuses a Host with characters no host has
        assert "Host" in headers
        _refused(response, caplog)


@pytest.mark.parametrize(
    "timestamp",
    ["9" * 309, "9" * 400, "9" * 4301, "9" * 10_000, "1" * 13, "-" + "9" * 400, "nan", "inf",
     "1e309", "１７００００００００", "", " "],
)  # fmt: skip
def test_a_slack_timestamp_of_any_size_is_refused_not_a_500(
    client: FlaskClient, caplog: pytest.LogCaptureFixture, timestamp: str
) -> None:
    body = b"command=%2Fconsent&text=x"
    sent = signature(body, timestamp) if timestamp.isascii() else "v0=x"
    headers = {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": sent}
    response = client.post(EVENTS, data=body, headers=headers)
    assert response.status_code == 401
    _refused(response, caplog)


def test_a_fresh_timestamp_still_passes(client: FlaskClient) -> None:
    # The door is really there: the refusals above are the timestamp check's, not a 404.
    body = b"command=%2Fconsent&text=x"
    timestamp = str(int(time.time()))
    headers = {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": "v0=" + "0" * 64}
    assert client.post(EVENTS, data=body, headers=headers).status_code == 401
    headers["X-Slack-Signature"] = signature(body, timestamp)
    assert client.post(EVENTS, data=body, headers=headers).status_code == 200


def test_the_timestamp_window_still_holds() -> None:
    now = time.time()
    secret = SIGNING_SECRET.encode()
    for skew, ok in ((0, True), (MAX_SKEW, True), (MAX_SKEW + 2, False), (-MAX_SKEW - 2, False)):
        timestamp = str(int(now) + skew)
        assert signature_ok(secret, b"x", timestamp, signature(b"x", timestamp), now) is ok


@pytest.mark.parametrize("host", ["localhost:abc", "localhost:99999999", "[::1", "x:-1",
                                  "localhost:", "a:b:c"])  # fmt: skip
def test_a_twilio_request_with_a_broken_host_port_is_refused(
    client: FlaskClient, caplog: pytest.LogCaptureFixture, host: str
) -> None:
    form = sms("STOP")
    # twilio's validator parses the port (ValueError on "abc"); werkzeug drops such a Host
    # before, so the URL signed for it is not the URL checked, and it stays a refusal.
    url = f"http://{host}{HOOK}"
    headers = {"Host": host, "X-Twilio-Signature": sign(form, url=url)}
    response = client.post(HOOK, data=form, headers=headers)
    assert response.status_code in {400, 403}
    _refused(response, caplog)


# Raw bytes on the wire: what only a hand-made client sends (non-latin-1, invalid UTF-8, huge).
RAW_VALUES = [b"\xff\xfe", "é".encode(), "日本語".encode(), b"\x80\x81", b"9" * 400,
              b"-1", b"nan", b"\x7f", b"a" * 4000, b" ", b"\xc3"]  # fmt: skip
RAW_DOORS = {
    "slack": (b"POST", EVENTS.encode(), [b"X-Slack-Request-Timestamp", b"X-Slack-Signature",
                                        b"X-Slack-Retry-Num", b"Content-Type"]),
    "twilio": (b"POST", HOOK.encode(), [b"X-Twilio-Signature", b"Content-Type",
                                       b"X-Twilio-Webhooks-Signature-Settings", b"Host"]),
    "api": (b"POST", b"/v1/optouts", [b"Authorization", b"Content-Type", b"Host"]),
    "ops": (b"GET", b"/healthz", [b"Authorization", b"Host"]),
}  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real `stopline serve` (gunicorn) with every door on."""
    from tests.integration.test_serve import start_server, stop

    fake = FakeSlack()
    running = start_server(
        tmp_path_factory.mktemp("hostile-headers"),
        SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake.api_url,
    )  # fmt: skip
    try:
        yield running
    finally:
        stop(running.process)
        fake.close()


@pytest.mark.slow
@pytest.mark.parametrize("door", sorted(RAW_DOORS))
def test_raw_header_bytes_on_the_wire(server: object, door: str) -> None:
    from tests.reliability.test_hostile_http import exchange, final_status

    method, path, names = RAW_DOORS[door]
    seen = len(server.output())  # type: ignore[attr-defined]
    body = b"From=%2B12065550123&To=%2B12065550100&Body=STOP&MessageSid=SM" + b"0" * 32
    for name in names:
        for value in RAW_VALUES:
            host = b"" if name == b"Host" else b"Host: 127.0.0.1\r\n"
            head = method + b" " + path + b" HTTP/1.1\r\n" + host + name + b": " + value
            tail = b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
            raw = head + tail + body
            status = final_status(exchange(server, raw))  # type: ignore[arg-type]
            if door == "ops":
                assert status in {200, 400}, (name, value, status)
            else:
                assert status in REFUSALS or status is None, (name, value, status)
    log = server.output()[seen:]  # type: ignore[attr-defined]
    assert "Traceback" not in log, log[-3000:]


@pytest.mark.parametrize("token", ["tökén-ünïcode", "токен", "🔑-key", "plain-ascii"])
def test_a_non_ascii_token_sent_as_utf8_bytes_is_accepted(tmp_path: Path, token: str) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    config = Settings(_env_file=None, database_url=url, rules_path=RULES,
                      api_token=token)  # type: ignore[call-arg]  # fmt: skip
    migrate(config)
    services = build_services(config)
    try:
        client = wire_app(config, services).test_client()
        # What a WSGI server hands over for the UTF-8 bytes on the wire.
        wire = f"Bearer {token}".encode().decode("latin-1")
        assert client.get("/v1/reviews", headers={"Authorization": wire}).status_code == 200
        wrong = f"Bearer {token}x".encode().decode("latin-1")
        assert client.get("/v1/reviews", headers={"Authorization": wrong}).status_code == 401
    finally:
        services.close()
