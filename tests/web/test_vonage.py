"""The Vonage inbound door (POST /webhooks/vonage) with real signed requests over a real ledger."""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from core.config import Settings
from stopline.wiring import Services
from tests.web.vonage_helpers import (
    BUSINESS_KEY,
    CONTACT,
    CONTACT_E164,
    HOOK,
    OTHER_BUSINESS_KEY,
    body_of,
    inbound,
    post,
    token,
    vonage_settings,
)
from web import create_app


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test settings with Vonage's door on."""
    return vonage_settings(settings)


def _status(services: Services, sender: str = BUSINESS_KEY) -> str:
    return str(services.consent.status(CONTACT_E164, sender).status)


def _events(services: Services) -> int:
    return len(services.consent.events(CONTACT_E164))


def _ok(response: TestResponse) -> None:
    # Vonage resends for 24 h anything but 200/204; replies go through the Messages API.
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.data == b""


@pytest.mark.parametrize(
    ("texts", "status", "reviews"),
    [
        (["STOP"], "opted_out", 0),
        (["STOP", "START"], "subscribed", 0),
        (["HELP"], "subscribed", 0),
        (["hello"], "subscribed", 0),
        (["please stop texting me"], "subscribed", 1),
    ],
)
def test_texts_decide_as_the_rules_say(
    client: FlaskClient, services: Services, texts: list[str], status: str, reviews: int
) -> None:
    for text in texts:
        _ok(post(client, inbound(text)))
    assert _status(services) == status
    assert len(services.consent.reviews(CONTACT_E164)) == reviews


def test_stop_covers_the_number_texted_and_keeps_vonages_id(
    client: FlaskClient, services: Services
) -> None:
    payload = inbound("STOP")
    _ok(post(client, payload))
    assert _status(services, OTHER_BUSINESS_KEY) == "subscribed"
    (event,) = services.consent.events(CONTACT_E164)
    assert event.carrier == "vonage"
    assert event.carrier_message_id == payload["message_uuid"]
    assert event.contact == CONTACT_E164 and event.contact_received == CONTACT


def test_a_retried_delivery_gets_the_first_answer_and_stores_once(
    client: FlaskClient, services: Services
) -> None:
    payload = inbound("STOP")
    first, second = post(client, payload), post(client, payload)
    _ok(first)
    _ok(second)
    assert _events(services) == 1


@pytest.mark.parametrize(
    ("contact", "sender", "key"),
    [
        ("447911123456", "447700900001", "+447911123456"),  # MSISDNs, as Vonage writes them
        ("14155550100", "12345", "+14155550100"),  # a US number without '+', to a short code
        ("+447911123456", "+447700900001", "+447911123456"),
        ("999123456789", "447700900001", "+999123456789"),  # an unassigned country code
        ("447700900123", "447700900001", "+447700900123"),  # a range phonenumbers calls invalid
        ("4477009001", "447700900001", "+14477009001"),  # ten digits: read in the region (US)
    ],
)
def test_odd_numbers_are_recorded_as_received(
    client: FlaskClient, services: Services, contact: str, sender: str, key: str
) -> None:
    _ok(post(client, inbound("STOP", contact=contact, sender=sender)))
    # The ledger read directly: the agents' lookup refuses some of these numbers as typos.
    events = services.consent.ledger.events_of(key, 10)
    assert len(events) == 1 and events[0].contact_received == contact
    assert events[0].sender_received == sender


def test_a_number_vonage_sends_as_a_json_number_is_recorded(
    client: FlaskClient, services: Services
) -> None:
    payload = {**inbound("STOP"), "from": int(CONTACT)}
    _ok(post(client, payload))
    assert _status(services) == "opted_out"


def test_a_text_by_mms_counts_as_by_sms(client: FlaskClient, services: Services) -> None:
    # The same number: Opt-Out Assist blocks MMS and SMS alike.
    _ok(post(client, {**inbound("STOP"), "channel": "mms"}))
    assert _status(services) == "opted_out"


@pytest.mark.parametrize(
    "change",
    [
        {"channel": "whatsapp"},  # WhatsApp consent is WhatsApp's, not the SMS number's
        {"channel": "rcs"},
        {"channel": "mms", "message_type": "image", "image": {"url": "https://x.test/i.png"}},
        {"message_type": "unsupported"},
    ],
)
def test_other_channels_and_types_are_acknowledged_and_not_stored(
    client: FlaskClient, services: Services, change: dict[str, object]
) -> None:
    _ok(post(client, {**inbound("STOP"), **change}))
    assert _status(services) == "subscribed" and _events(services) == 0


@pytest.mark.parametrize(
    ("authorization", "error"),
    [
        ("", "missing_signature"),
        ("Basic YWJjZDEyMzQ6c2VjcmV0", "missing_signature"),
        ("Bearer ", "missing_signature"),
        ("Bearer not.a.jwt", "invalid_signature"),
        ("other secret", "invalid_signature"),
        ("expired", "invalid_signature"),
        ("issued in the future", "invalid_signature"),
        ("alg none", "invalid_signature"),
        ("alg HS512", "invalid_signature"),
        ("another body", "invalid_signature"),
        ("no payload_hash", "invalid_signature"),
    ],
)
def test_unverified_requests_are_401_and_change_nothing(
    client: FlaskClient, services: Services, authorization: str, error: str
) -> None:
    body = body_of(inbound("STOP"))
    forged = {
        "other secret": token(body, secret="not-the-vonage-signature-secret-at-all"),
        "expired": token(body, exp=1_700_000_000, iat=1_699_999_000),
        "issued in the future": token(body, iat=4_000_000_000),
        "alg none": token(body, secret="", algorithm="none"),
        "alg HS512": token(body, algorithm="HS512"),
        "another body": token(body_of(inbound("hello"))),
        "no payload_hash": token(None),
    }
    header = f"Bearer {forged[authorization]}" if authorization in forged else authorization
    response = post(client, None, raw=body, authorization=header)
    assert response.status_code == 401
    assert response.get_json()["error"] == error
    assert "VONAGE_SIGNATURE_SECRET" in response.get_json()["detail"]
    assert _status(services) == "subscribed" and _events(services) == 0


def test_an_rs256_token_is_refused(client: FlaskClient, services: Services) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    body = body_of(inbound("STOP"))
    forged = token(body, secret=key, algorithm="RS256")  # type: ignore[arg-type]
    assert post(client, None, raw=body, authorization=f"Bearer {forged}").status_code == 401
    assert _events(services) == 0


def test_without_the_signature_secret_the_door_is_503(
    settings: Settings, services: Services
) -> None:
    off = settings.model_copy(update={"vonage_signature_secret": None})
    response = post(create_app(off, services).test_client(), inbound("STOP"))
    assert response.status_code == 503
    assert "VONAGE_SIGNATURE_SECRET" in response.get_json()["detail"]
    assert _events(services) == 0


@pytest.mark.parametrize(
    ("raw", "error", "named"),
    [
        (b"From=447911123456&text=STOP", "invalid_input", "JSON"),
        (b"\xff\xfe{}", "invalid_input", "JSON"),
        (b"[1, 2]", "invalid_input", "list"),
        (b'{"channel": "sms"}', "missing_field", "message_uuid"),
        (b"[" * 5000 + b"]" * 5000, "invalid_input", "JSON"),
    ],
)
def test_signed_bodies_vonage_never_sends_are_400(
    client: FlaskClient, services: Services, raw: bytes, error: str, named: str
) -> None:
    response = post(client, None, raw=raw)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"] == error
    assert named in response.get_json()["detail"]
    assert _events(services) == 0


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789abX"}, "message_uuid"),
        ({"message_uuid": "not-a-uuid"}, "message_uuid"),
        ({"message_uuid": 12}, "message_uuid"),
        ({"from": ""}, "from"),
        ({"from": None}, "from"),
        ({"to": ["447700900001"]}, "to"),
        ({"text": {"t": "STOP"}}, "text"),
        ({"channel": None}, "channel"),
    ],
)
def test_signed_deliveries_with_a_bad_field_are_400_naming_it(
    client: FlaskClient, services: Services, change: dict[str, object], named: str
) -> None:
    response = post(client, {**inbound("STOP"), **change})
    assert response.status_code == 400, response.get_data(as_text=True)
    assert named in response.get_json()["detail"]
    assert _events(services) == 0


def test_a_field_given_twice_is_refused_though_signed(
    client: FlaskClient, services: Services
) -> None:
    # Which "text" counts would be the sender's choice; Vonage sends each field once.
    raw = body_of(inbound("hello"))[:-1] + b',"text":"STOP"}'
    response = post(client, None, raw=raw)
    assert response.status_code == 400
    assert response.get_json()["error"] == "not_a_carrier_delivery"
    assert _events(services) == 0


def test_a_body_over_64_kib_is_413(client: FlaskClient, services: Services) -> None:
    response = post(client, inbound("x" * (65 * 1024)))
    assert response.status_code == 413
    assert response.get_json()["error"] == "request_entity_too_large"
    assert _events(services) == 0


def test_a_chunked_body_over_the_limit_is_413(client: FlaskClient) -> None:
    body = body_of(inbound("x" * (65 * 1024)))
    response = client.post(
        HOOK,
        input_stream=io.BytesIO(body),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked", "Authorization": f"Bearer {token(body)}"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413
