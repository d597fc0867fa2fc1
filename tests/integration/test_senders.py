"""The carriers' send clients against a fake of each API on 127.0.0.1 (tests/fakecarrierapi.py)."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from core.config import Settings
from core.model import Reply
from core.ports import SendFailed
from outbound import FACTORIES, build_senders
from outbound.http import DETAIL_LIMIT, retry_after
from outbound.telnyx import idempotency_key
from outbound.vonage import vonage_number
from tests.fakecarrierapi import Answer, fake_carrier_api

# Every variable build_senders reads, so a value in the test machine's environment never counts.
SENDING_VARS = (
    "TELNYX_API_KEY", "TELNYX_API_URL",
    "BANDWIDTH_ACCOUNT_ID", "BANDWIDTH_APPLICATION_ID", "BANDWIDTH_API_USERNAME",
    "BANDWIDTH_API_PASSWORD", "BANDWIDTH_API_URL",
    "VONAGE_API_KEY", "VONAGE_API_SECRET", "VONAGE_API_URL",
    "SINCH_SERVICE_PLAN_ID", "SINCH_API_TOKEN", "SINCH_API_URL",
)  # fmt: skip


def _settings(values: dict[str, Any]) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass(frozen=True)
class Carrier:
    """One carrier's test credentials, a reply as the outbox hands it, and the request expected."""

    name: str
    credentials: dict[str, str]  # the settings, by variable name, without the API URL
    url_var: str
    url_path: str  # the API URL's path (the default's), the fake's base
    reply: Reply
    path: str
    headers: dict[str, str]  # lower-cased names
    body: dict[str, Any]
    error: dict[str, Any]  # a 400 body in the carrier's own error shape
    error_text: str  # what of it SendFailed.detail must name

    def settings(self, base_url: str) -> Settings:
        """Settings with these credentials and the API URL on the fake server."""
        return _settings({**self.credentials, self.url_var: base_url + self.url_path})

    @property
    def secrets(self) -> list[str]:
        """The credential values that must never appear in a failure's detail."""
        return [
            v
            for k, v in self.credentials.items()
            if k.endswith(("KEY", "SECRET", "TOKEN", "USERNAME", "PASSWORD"))
        ]


CARRIERS = [
    Carrier(
        name="telnyx",
        credentials={"TELNYX_API_KEY": "KEYtelnyx0123456789test"},
        url_var="TELNYX_API_URL",
        url_path="/v2/",
        reply=Reply(
            1, "telnyx", "+15550001111", "+15552223333", "You are unsubscribed.", "reply-1"
        ),
        path="/v2/messages",
        headers={"authorization": "Bearer KEYtelnyx0123456789test", "idempotency-key": "reply-1"},
        body={"from": "+15550001111", "to": "+15552223333", "text": "You are unsubscribed."},
        error={
            "errors": [
                {
                    "code": "40310",
                    "title": "Invalid 'to' address",
                    "detail": "The 'to' address is not valid.",
                }
            ]
        },
        error_text="40310 Invalid 'to' address The 'to' address is not valid.",
    ),
    Carrier(
        name="bandwidth",
        credentials={
            "BANDWIDTH_ACCOUNT_ID": "9900000",
            "BANDWIDTH_APPLICATION_ID": "93de2206-9669-4e07-948d-329f4b722ee2",
            "BANDWIDTH_API_USERNAME": "bw-user",
            "BANDWIDTH_API_PASSWORD": "bw-pass-5ecret",
        },
        url_var="BANDWIDTH_API_URL",
        url_path="/api/v2/",
        reply=Reply(2, "bandwidth", "+15550001111", "+15552223333", "Help: reply STOP.", "reply-2"),
        path="/api/v2/users/9900000/messages",
        headers={"authorization": _basic("bw-user", "bw-pass-5ecret")},
        body={
            "applicationId": "93de2206-9669-4e07-948d-329f4b722ee2",
            "to": ["+15552223333"],
            "from": "+15550001111",
            "text": "Help: reply STOP.",
            "tag": "reply-2",
        },
        error={
            "type": "request-validation",
            "description": "Your request could not be accepted",
            "fieldErrors": [{"fieldName": "to", "description": "'+1555' must be E164"}],
        },
        error_text="request-validation Your request could not be accepted to '+1555' must be E164",
    ),
    Carrier(
        name="vonage",
        credentials={"VONAGE_API_KEY": "abcd1234", "VONAGE_API_SECRET": "vonageSecret42"},
        url_var="VONAGE_API_URL",
        url_path="/v1/",
        reply=Reply(3, "vonage", "15550001111", "447700900001", "You are unsubscribed.", "reply-3"),
        path="/v1/messages",
        headers={"authorization": _basic("abcd1234", "vonageSecret42")},
        body={
            "message_type": "text",
            "channel": "sms",
            "to": "447700900001",
            "from": "15550001111",
            "text": "You are unsubscribed.",
            "client_ref": "reply-3",
        },
        error={
            "type": "https://developer.nexmo.com/api-errors/messages-olympus#1150",
            "title": "Invalid params",
            "detail": "The value of one or more parameters is invalid.",
        },
        error_text="Invalid params The value of one or more parameters is invalid."
        " https://developer.nexmo.com/api-errors/messages-olympus#1150",
    ),
    Carrier(
        name="sinch",
        credentials={
            "SINCH_SERVICE_PLAN_ID": "jd63jf88477ll123ab4567cd89012ef3",
            "SINCH_API_TOKEN": "sinchToken77",
        },
        url_var="SINCH_API_URL",
        url_path="/xms/v1/",
        reply=Reply(4, "sinch", "15550001111", "46700000001", "You are unsubscribed.", "reply-4"),
        path="/xms/v1/jd63jf88477ll123ab4567cd89012ef3/batches",
        headers={"authorization": "Bearer sinchToken77"},
        body={
            "from": "15550001111",
            "to": ["46700000001"],
            "body": "You are unsubscribed.",
            "client_reference": "reply-4",
        },
        error={"code": "syntax_invalid_parameter_format", "text": "Invalid parameter format: to"},
        error_text="syntax_invalid_parameter_format Invalid parameter format: to",
    ),
]
BY_NAME = {c.name: c for c in CARRIERS}
IDS = [c.name for c in CARRIERS]
HTTP_DATE_AHEAD = 120


@pytest.fixture(autouse=True)
def _no_sending_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in SENDING_VARS:
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(f"STOPLINE_{var}", raising=False)


@pytest.fixture
def make_sender() -> Iterator[Callable[[Carrier, str], Any]]:
    """Builds a carrier's sender on a base URL through build_senders; closes it afterwards."""
    made: list[Any] = []

    def make(carrier: Carrier, base_url: str) -> Any:
        senders = build_senders(carrier.settings(base_url))
        made.extend(senders.values())
        return senders[carrier.name]

    yield make
    for sender in made:
        sender.close()


def _first_failure(kind: str) -> tuple[Answer, float | None]:
    if kind == "503":
        return Answer(503, '{"error": "try later"}'), None
    if kind == "429-seconds":
        return Answer(429, '{"error": "slow down"}', {"Retry-After": "7"}), 7.0
    when = datetime.now(UTC) + timedelta(seconds=HTTP_DATE_AHEAD)
    header = {"Retry-After": format_datetime(when, usegmt=True)}
    return Answer(429, "{}", header), float(HTTP_DATE_AHEAD)


@pytest.mark.parametrize("kind", ["503", "429-seconds", "429-http-date"])
@pytest.mark.parametrize("carrier", CARRIERS, ids=IDS)
def test_first_attempt_fails_then_the_retry_sends(carrier: Carrier, kind: str, make_sender) -> None:
    failure, after = _first_failure(kind)
    with fake_carrier_api(failure) as api:
        sender = make_sender(carrier, api.url)
        with pytest.raises(SendFailed) as caught:
            sender.send(carrier.reply)
        sender.send(carrier.reply)

    assert caught.value.retry is True
    if after is None or kind == "429-seconds":
        assert caught.value.retry_after == after
    else:  # an HTTP date has one-second resolution, and time passed since it was written
        assert caught.value.retry_after is not None
        assert after - 5 <= caught.value.retry_after <= after
    assert len(api.requests) == 2
    for request in api.requests:
        assert (request.method, request.path) == ("POST", carrier.path)
        assert request.headers["content-type"] == "application/json"
        for name, value in carrier.headers.items():
            assert request.headers[name] == value
        if "idempotency-key" not in carrier.headers:
            assert "idempotency-key" not in request.headers
        assert request.json() == carrier.body
    assert api.requests[0].body == api.requests[1].body  # the same request on every attempt


@pytest.mark.parametrize("carrier", CARRIERS, ids=IDS)
def test_a_client_error_is_final_and_names_the_carriers_text(carrier: Carrier, make_sender) -> None:
    answer = Answer(400, json.dumps(carrier.error))
    with fake_carrier_api(answer) as api, pytest.raises(SendFailed) as caught:
        make_sender(carrier, api.url).send(carrier.reply)
    assert caught.value.retry is False
    assert caught.value.retry_after is None
    assert caught.value.detail == f"{carrier.name}: HTTP 400: {carrier.error_text}"
    assert len(api.requests) == 1


@pytest.mark.parametrize(
    ("answer", "retry"),
    [
        (Answer(401, "not json at all"), False),
        (Answer(404, ""), False),
        (Answer(422, "[1, 2]"), False),
        (Answer(500, "<html>oops</html>"), True),
        (Answer(502, ""), True),
        (Answer(429, "{}"), True),  # no Retry-After: the worker's own back-off decides
        (Answer(302, "", {"Location": "/elsewhere"}), False),  # never followed
    ],
    ids=["401-text", "404-empty", "422-list", "500-html", "502-empty", "429-no-header", "302"],
)
@pytest.mark.parametrize("carrier", CARRIERS, ids=IDS)
def test_other_answers(carrier: Carrier, answer: Answer, retry: bool, make_sender) -> None:
    with fake_carrier_api(answer) as api, pytest.raises(SendFailed) as caught:
        make_sender(carrier, api.url).send(carrier.reply)
    assert caught.value.retry is retry
    assert caught.value.retry_after is None
    assert caught.value.detail.startswith(f"{carrier.name}: HTTP {answer.status}:")
    assert len(api.requests) == 1


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("carrier", CARRIERS, ids=IDS)
def test_a_closed_port_is_retried(carrier: Carrier, make_sender) -> None:
    with pytest.raises(SendFailed) as caught:
        make_sender(carrier, _closed_port_url()).send(carrier.reply)
    assert caught.value.retry is True
    assert caught.value.retry_after is None
    assert caught.value.detail == f"{carrier.name}: no answer (ConnectionError)"


@pytest.mark.parametrize("status", [400, 403, 503])
@pytest.mark.parametrize("carrier", CARRIERS, ids=IDS)
def test_credentials_never_appear_in_the_detail(carrier: Carrier, status: int, make_sender) -> None:
    # The worst case: a carrier that echoes every credential it was sent, past the cut-off.
    echoed = " ".join(carrier.secrets) + " " + "x" * DETAIL_LIMIT + " ".join(carrier.secrets)
    with fake_carrier_api(Answer(status, echoed)) as api, pytest.raises(SendFailed) as caught:
        make_sender(carrier, api.url).send(carrier.reply)
    with pytest.raises(SendFailed) as unreachable:
        make_sender(carrier, _closed_port_url()).send(carrier.reply)
    for failure in (caught.value, unreachable.value):
        for secret in carrier.secrets:
            assert secret not in failure.detail
            assert secret not in str(failure)
    assert len(caught.value.detail) <= DETAIL_LIMIT + len(f"{carrier.name}: HTTP {status}: ")


_ALL = {k: v for c in CARRIERS for k, v in c.credentials.items()}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({}, set()),
        (_ALL, {"telnyx", "bandwidth", "vonage", "sinch"}),
        (BY_NAME["telnyx"].credentials, {"telnyx"}),
        (BY_NAME["sinch"].credentials, {"sinch"}),
        ({**_ALL, "BANDWIDTH_APPLICATION_ID": ""}, {"telnyx", "vonage", "sinch"}),
        ({**_ALL, "VONAGE_API_SECRET": "   "}, {"telnyx", "bandwidth", "sinch"}),
        ({"VONAGE_API_KEY": "abcd1234"}, set()),
        ({"SINCH_API_TOKEN": "t", "TELNYX_PUBLIC_KEY": "pk"}, set()),
        ({f"STOPLINE_{k}": v for k, v in BY_NAME["bandwidth"].credentials.items()}, {"bandwidth"}),
    ],
    ids=["none", "all", "telnyx", "sinch", "bandwidth-no-app", "vonage-blank", "vonage-half",
         "sinch-half", "prefixed"],
)  # fmt: skip
def test_build_senders_gives_exactly_the_carriers_with_credentials(given, expected) -> None:
    senders = build_senders(_settings(given))
    try:
        assert set(senders) == expected
        assert set(expected) <= set(FACTORIES)
    finally:
        for sender in senders.values():
            sender.close()  # type: ignore[attr-defined]


NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("0", 0.0),
        ("-5", 0.0),
        ("1.5", 1.5),
        (format_datetime(datetime.fromtimestamp(NOW + 90, UTC), usegmt=True), 90.0),
        (format_datetime(datetime.fromtimestamp(NOW - 90, UTC), usegmt=True), 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
        ("inf", None),
        (format_datetime(datetime.fromtimestamp(NOW + 30, UTC).replace(tzinfo=None)), 30.0),
        ("Tue, 32 Dec 2026 03:00:00 GMT", None),
    ],
)
def test_retry_after(header: str | None, expected: float | None) -> None:
    assert retry_after(header, now=NOW) == expected


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("reply-1", "reply-1"),
        ("outbox:42_a", "outbox:42_a"),
        ("outbox/42", hashlib.sha256(b"outbox/42").hexdigest()),
        ("k" * 256, hashlib.sha256(b"k" * 256).hexdigest()),
    ],
)
def test_telnyx_idempotency_key(key: str, expected: str) -> None:
    assert idempotency_key(key) == expected


@pytest.mark.parametrize(
    ("number", "expected"),
    [("15550001111", "15550001111"), ("+15550001111", "15550001111"), ("Stopline", "Stopline")],
)
def test_vonage_numbers_go_without_plus(number: str, expected: str) -> None:
    assert vonage_number(number) == expected
