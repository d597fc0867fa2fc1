"""Telnyx's Ed25519 signature: the published vector, the clock, forgeries, keys and fuzzing."""

from __future__ import annotations

import base64
import json
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import request
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core.config import Settings
from stopline.wiring import Services
from tests.web.telnyx_helpers import (
    CONTACT,
    HOOK,
    OTHER_KEY,
    finalized,
    post,
    public_b64,
    received,
    sign,
)
from web import create_app
from web.carriers.telnyx import TelnyxAdapter, public_key, signature_refusal

# carrier_test_vectors.py, section 5: RFC 8032 §7.1 TEST 1 key, checked with telnyx-python.
SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
VECTOR_KEY = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
VECTOR_TS = "1700000000"
VECTOR_BODY = (
    b'{"data":{"event_type":"message.received","id":"b301ed3f-1490-491f-995f-6e64e69674d4",'
    b'"occurred_at":"2023-11-14T22:13:20.000+00:00","payload":{"direction":"inbound",'
    b'"from":{"phone_number":"+13125550001"},"id":"84cca175-9755-4859-b67f-4730d7f58aa3",'
    b'"messaging_profile_id":"740572b6-099c-44a1-89b9-6c92163bc68d","record_type":"message",'
    b'"text":"STOP","to":[{"phone_number":"+18445550001","status":"webhook_delivered"}],'
    b'"type":"SMS"},"record_type":"event"},'
    b'"meta":{"attempt":1,"delivered_to":"https://example.com/webhooks"}}'
)
VECTOR_SIG = (
    "P5Qx4Xm6O3XZZU+XLF/ILRZ8vZEZ7SYSy8WpmzEJLMI7C+QGkIWSHQMXB+mE/ElSFtmn9W45TsxOJ+E8UkFcDA=="
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings with the Telnyx test key's public half."""
    return settings.model_copy(update={"telnyx_public_key": public_b64()})


def _events(services: Services) -> int:
    return len(services.consent.events(CONTACT))


def test_the_vector_is_what_the_rfc_key_signs() -> None:
    # Ed25519 is deterministic: the RFC's seed gives the published key and signature.
    private = Ed25519PrivateKey.from_private_bytes(SEED)
    assert base64.b64encode(private.sign(VECTOR_TS.encode() + b"|" + VECTOR_BODY)).decode() == (
        VECTOR_SIG
    )


@pytest.mark.parametrize(
    ("now", "accepted"),
    [(1700000100, True), (1700000300, True), (1699999700, True), (1700000400, False),
     (1700000301, False), (1699999699, False)],
)  # fmt: skip
def test_the_published_vector_within_300_seconds_either_way(now: int, accepted: bool) -> None:
    refusal = signature_refusal(public_key(VECTOR_KEY), VECTOR_BODY, VECTOR_TS, VECTOR_SIG, now)
    assert (refusal is None) is accepted
    assert refusal is None or refusal.error == "stale_timestamp"


def test_the_vector_passes_the_adapter_with_its_clock_injected(
    settings: Settings, services: Services
) -> None:
    vector = settings.model_copy(update={"telnyx_public_key": VECTOR_KEY})
    headers = {"telnyx-timestamp": VECTOR_TS, "telnyx-signature-ed25519": VECTOR_SIG}
    with create_app(vector, services).test_request_context(
        HOOK, method="POST", data=VECTOR_BODY, headers=headers, content_type="application/json"
    ):
        assert TelnyxAdapter(now=lambda: 1700000100).verify(vector, request) is None
        late = TelnyxAdapter(now=lambda: 1700000400).verify(vector, request)
        assert late is not None and late.status == 403
        (message,) = TelnyxAdapter().parse(vector, request).messages
    assert (message.message_id, message.contact, message.sender, message.body) == (
        "84cca175-9755-4859-b67f-4730d7f58aa3", "+13125550001", "+18445550001", "STOP",
    )  # fmt: skip


def _now(offset: int = 0) -> str:
    return str(int(time.time()) + offset)


BODY = json.dumps(received("STOP")).encode()
OTHER_BODY = json.dumps(received("hello")).encode()


@pytest.mark.parametrize(
    ("timestamp", "signature", "error"),
    [
        (None, "other key", "invalid_signature"),
        (None, "other body", "invalid_signature"),
        (None, "", "invalid_signature"),
        (None, "not base64!", "invalid_signature"),
        (None, base64.b64encode(b"\0" * 64).decode(), "invalid_signature"),
        (None, base64.b64encode(b"\0" * 63).decode(), "invalid_signature"),
        (None, "A" * 5000, "invalid_signature"),
        (None, "é" * 88, "invalid_signature"),
        ("-301", None, "stale_timestamp"),  # resolved below: 301 s old
        ("+400", None, "stale_timestamp"),  # 400 s in the future
        ("", None, "stale_timestamp"),
        ("abc", None, "stale_timestamp"),
        ("1e9", None, "stale_timestamp"),
        ("9" * 5000, None, "stale_timestamp"),
        ("１７００００００００", None, "stale_timestamp"),  # full-width digits
        (" 1", None, "stale_timestamp"),
    ],
)
def test_requests_not_signed_by_telnyx_now_are_403_and_change_nothing(
    client: FlaskClient, services: Services, timestamp: str | None, signature: str | None,
    error: str,
) -> None:  # fmt: skip
    if timestamp in ("-301", "+400"):
        timestamp = _now(int(timestamp))
    stamp = _now()
    if signature == "other key":
        timestamp, signature = stamp, sign(BODY, stamp, OTHER_KEY)
    elif signature == "other body":
        timestamp, signature = stamp, sign(OTHER_BODY, stamp)
    response = post(client, BODY, timestamp=timestamp, signature=signature)
    assert response.status_code == 403, response.get_data(as_text=True)
    assert response.get_json()["error"] == error
    assert _events(services) == 0


def test_a_signature_for_another_timestamp_is_403(client: FlaskClient, services: Services) -> None:
    then = _now(-10)
    response = post(client, BODY, timestamp=_now(), signature=sign(BODY, then))
    assert response.status_code == 403
    assert _events(services) == 0


def test_a_key_other_than_the_signers_refuses_genuine_requests(
    settings: Settings, services: Services
) -> None:
    other = settings.model_copy(update={"telnyx_public_key": public_b64(OTHER_KEY)})
    assert post(create_app(other, services).test_client(), BODY).status_code == 403
    assert _events(services) == 0


def test_without_a_public_key_the_door_is_503(settings: Settings, services: Services) -> None:
    off = settings.model_copy(update={"telnyx_public_key": None})
    response = post(create_app(off, services).test_client(), BODY)
    assert response.status_code == 503
    assert "TELNYX_PUBLIC_KEY" in response.get_json()["detail"]
    assert _events(services) == 0


@pytest.mark.parametrize(
    ("key", "why"),
    [("not base64!", "not base64"), (base64.b64encode(b"k" * 31).decode(), "31 bytes"),
     (base64.b64encode(b"k" * 33).decode(), "33 bytes"), ("é", "not base64")],
)  # fmt: skip
def test_an_unusable_public_key_is_503_saying_what_is_wrong(
    settings: Settings, services: Services, key: str, why: str
) -> None:
    bad = settings.model_copy(update={"telnyx_public_key": key})
    response = post(create_app(bad, services).test_client(), BODY)
    assert response.status_code == 503
    detail = response.get_json()["detail"]
    assert "TELNYX_PUBLIC_KEY" in detail and why in detail
    assert _events(services) == 0


def test_the_key_is_built_once_per_value() -> None:
    assert public_key(VECTOR_KEY) is public_key(VECTOR_KEY)


_slow = hypothesis_settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_headers = st.dictionaries(
    st.sampled_from(["telnyx-signature-ed25519", "telnyx-timestamp", "Content-Type",
                     "Content-Encoding", "X-Custom"]),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=100),
    max_size=4,
)  # fmt: skip
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20)
    | st.sampled_from(["message.received", "message.finalized", "40300", CONTACT]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["data", "event_type", "payload", "id", "from", "to", "phone_number",
                         "text", "errors", "code", "title", "status"]) | st.text(max_size=5),
        inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


@_slow
@given(body=st.binary(max_size=300) | _json.map(lambda v: json.dumps(v).encode()),
       headers=_headers)  # fmt: skip
def test_unsigned_or_forged_never_5xx_and_never_change_state(
    client: FlaskClient, services: Services, body: bytes, headers: dict[str, str]
) -> None:
    before = _events(services)
    response = client.post(HOOK, data=body, headers=headers)
    assert response.status_code == 403, response.get_data(as_text=True)
    assert _events(services) == before


@_slow
@given(value=_json, raw=st.binary(max_size=300), status=st.sampled_from(["", "delivered"]))
def test_signed_bodies_never_5xx(
    client: FlaskClient, value: object, raw: bytes, status: str
) -> None:
    shaped = finalized(status, [{"code": value}, {"title": value}])
    shaped["data"]["payload"]["to"][0]["phone_number"] = value
    for body in (json.dumps(value).encode(), raw, json.dumps(shaped).encode()):
        response = post(client, body)
        assert response.status_code < 500, response.get_data(as_text=True)
