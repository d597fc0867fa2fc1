"""The carriers' send clients against a fake of each API on 127.0.0.1 (tests/fakecarrierapi.py)."""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from core.ports import SendFailed
from outbound import FACTORIES, build_senders
from outbound.http import DETAIL_LIMIT, retry_after
from outbound.telnyx import idempotency_key
from outbound.vonage import vonage_number
from tests.fakecarrierapi import Answer, fake_carrier_api
from tests.sendercases import BY_NAME, CARRIERS, IDS, SENDING_VARS, Carrier, settings_of

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
    senders = build_senders(settings_of(given))
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


@pytest.mark.parametrize(
    ("carrier", "url"),
    [
        ("telnyx", "https://api.telnyx.com/v2/messages"),
        ("bandwidth", "https://messaging.bandwidth.com/api/v2/users/9900000/messages"),
        ("vonage", "https://api.nexmo.com/v1/messages"),
        ("sinch", "https://us.sms.api.sinch.com/xms/v1/jd63jf88477ll123ab4567cd89012ef3/batches"),
    ],
)
def test_the_default_api_urls(carrier: str, url: str) -> None:
    senders = build_senders(settings_of(BY_NAME[carrier].credentials))
    try:
        assert senders[carrier].url == url  # type: ignore[attr-defined]
    finally:
        senders[carrier].close()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("values", "carrier", "url"),
    [
        ({"TELNYX_API_URL": "http://h/v2"}, "telnyx", "http://h/v2/messages"),
        ({"VONAGE_API_URL": "http://h/v1//"}, "vonage", "http://h/v1/messages"),
        ({"BANDWIDTH_ACCOUNT_ID": "a/b?c"}, "bandwidth", "/users/a%2Fb%3Fc/messages"),
        ({"SINCH_SERVICE_PLAN_ID": "p/../x"}, "sinch", "/p%2F..%2Fx/batches"),
    ],
    ids=["no-trailing-slash", "extra-slashes", "account-quoted", "plan-quoted"],
)
def test_urls_are_joined_and_ids_quoted(values: dict[str, str], carrier: str, url: str) -> None:
    senders = build_senders(settings_of({**BY_NAME[carrier].credentials, **values}))
    try:
        assert senders[carrier].url.endswith(url)  # type: ignore[attr-defined]
    finally:
        senders[carrier].close()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("values", "carrier"),
    [
        ({"TELNYX_API_URL": "api.telnyx.com/v2/"}, "telnyx"),
        ({"SINCH_API_URL": "ftp://127.0.0.1/xms/v1/"}, "sinch"),
        ({"VONAGE_API_URL": "http://[::1/v1/"}, "vonage"),
        ({"TELNYX_API_KEY": "KEYtelnyx\r\nX-Evil: 1"}, "telnyx"),
        ({"SINCH_API_TOKEN": "tökenΩ"}, "sinch"),
        ({"BANDWIDTH_API_PASSWORD": "pässwordΩ"}, "bandwidth"),
    ],
    ids=["no-scheme", "ftp", "bad-host", "header-newline", "token-latin1", "password-latin1"],
)  # fmt: skip
def test_an_unusable_setting_is_final(values: dict[str, str], carrier: str) -> None:
    case = BY_NAME[carrier]
    senders = build_senders(settings_of({**case.credentials, **values}))
    try:
        with pytest.raises(SendFailed) as caught:
            senders[carrier].send(case.reply)
    finally:
        senders[carrier].close()  # type: ignore[attr-defined]
    assert caught.value.retry is False
    assert caught.value.detail.startswith(f"{carrier}: not sent (")
    for value in [*case.secrets, *values.values()]:
        assert value not in caught.value.detail
