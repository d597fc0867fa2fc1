"""The Sinch door with real Basic-authenticated callbacks over a real ledger."""

from __future__ import annotations

import io
import json

import pytest
from flask.testing import FlaskClient
from pydantic import SecretStr
from werkzeug.test import TestResponse

from core.config import Settings
from core.errors import NotAllowed
from core.model import Actor, Source
from stopline.wiring import Services
from tests.web.helpers import post_sms, sms
from tests.web.sinch_helpers import (
    BUSINESS,
    BUSINESS_E164,
    CONTACT,
    CONTACT_E164,
    HOOK,
    PASSWORD,
    USERNAME,
    basic,
    mo_text,
    new_id,
    post,
    with_sinch,
)
from web import create_app


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings, Sinch's door on."""
    return with_sinch(settings)


def _status(services: Services, sender: str = BUSINESS_E164) -> str:
    return str(services.consent.status(CONTACT_E164, sender).status)


def _events(services: Services, contact: str = CONTACT_E164) -> int:
    return len(services.consent.events(contact))


def _ok(response: TestResponse) -> None:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_data() == b""


@pytest.mark.parametrize(
    ("body", "status", "events"),
    [
        ("STOP", "opted_out", 1),
        ("HELP", "subscribed", 0),
        ("hello", "subscribed", 0),
        ("please stop texting me", "subscribed", 1),  # a review opened, consent unchanged
    ],
)
def test_texts_are_decided_and_answered_200_empty(
    client: FlaskClient, services: Services, body: str, status: str, events: int
) -> None:
    _ok(post(client, mo_text(body)))
    assert _status(services) == status
    assert _events(services) == events


def test_stop_is_recorded_with_sinchs_id_and_numbers(
    client: FlaskClient, services: Services
) -> None:
    event = mo_text("STOP")
    _ok(post(client, event))
    [stopped] = services.consent.events(CONTACT_E164)
    assert (stopped.carrier, stopped.carrier_message_id) == ("sinch", event["id"])
    # Kept as Sinch wrote them (no '+'), normalised for the key.
    assert (stopped.contact_received, stopped.sender_received) == (CONTACT, BUSINESS)
    assert stopped.sender == BUSINESS_E164


def test_an_empty_text_is_acknowledged_and_changes_nothing(
    client: FlaskClient, services: Services
) -> None:
    _ok(post(client, mo_text("")))
    assert _status(services) == "subscribed" and _events(services) == 0


def test_the_review_phrase_opens_a_review(client: FlaskClient, services: Services) -> None:
    _ok(post(client, mo_text("please stop texting me")))
    [review] = services.consent.reviews(CONTACT_E164)
    assert review.carrier == "sinch"


def test_start_after_stop_opts_back_in(client: FlaskClient, services: Services) -> None:
    _ok(post(client, mo_text("STOP")))
    _ok(post(client, mo_text("START")))
    assert _status(services) == "subscribed"


def test_a_retried_text_is_stored_once(client: FlaskClient, services: Services) -> None:
    # Sinch retries a 5xx or 429 for about 23 hours with the same id.
    event = mo_text("STOP")
    for _ in range(3):
        _ok(post(client, event))
    assert _events(services) == 1


def test_the_same_contact_through_twilio_is_another_message(
    client: FlaskClient, services: Services
) -> None:
    _ok(post(client, mo_text("STOP")))
    assert post_sms(client, sms("START")).status_code == 200  # same numbers, with '+'
    assert _status(services) == "subscribed" and _events(services) == 2


@pytest.mark.parametrize(
    "headers",
    [
        basic(password="not-the-password"),
        basic(user="someone-else"),
        basic(user=USERNAME.upper()),
        {},  # no credentials
        {"Authorization": "Basic"},
        {"Authorization": "Basic !!!not-base64!!!"},
        {"Authorization": "Basic " + "c2luY2g="},  # "sinch": no colon
        {"Authorization": "Basic /w=="},  # one byte that is not UTF-8
        {"Authorization": "Bearer " + PASSWORD},
        {"Authorization": f"{USERNAME}:{PASSWORD}"},
        {"Authorization": "Basic " + "\u00e9\u00e9"},
    ],
)
def test_wrong_missing_or_garbage_credentials_are_401_and_change_nothing(
    client: FlaskClient, services: Services, headers: dict[str, str]
) -> None:
    response = post(client, mo_text("STOP"), headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="stopline"'
    assert response.get_json()["error"] == "invalid_credentials"
    assert _events(services) == 0


def test_the_rfc_7617_example_credentials_are_accepted(
    settings: Settings, services: Services
) -> None:
    # RFC 7617, section 2: user "Aladdin", password "open sesame".
    aladdin = settings.model_copy(
        update={"sinch_callback_username": "Aladdin",
                "sinch_callback_password": SecretStr("open sesame")}
    )  # fmt: skip
    client = create_app(aladdin, services).test_client()
    _ok(
        post(
            client, mo_text("STOP"), headers={"Authorization": "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="}
        )
    )
    assert _status(services) == "opted_out"
    assert post(client, mo_text("STOP")).status_code == 401  # the test credentials are not these


@pytest.mark.parametrize("missing", ["sinch_callback_username", "sinch_callback_password"])
def test_without_callback_credentials_the_door_is_503(
    settings: Settings, services: Services, missing: str
) -> None:
    off = settings.model_copy(update={missing: None})
    client = create_app(off, services).test_client()
    response = post(client, mo_text("STOP"))
    assert response.status_code == 503
    assert missing.upper() in response.get_json()["detail"]
    assert _events(services) == 0


@pytest.mark.parametrize(
    ("contact", "sender", "key"),
    [
        (CONTACT, BUSINESS, CONTACT_E164),  # no '+', as Sinch writes them
        (CONTACT_E164, BUSINESS_E164, CONTACT_E164),
        ("2065550123", "12345", CONTACT_E164),  # national form, to a short code
        ("12060012345", BUSINESS, "+12060012345"),  # a range the phone library does not know
        ("447700900123", "447700900100", "+447700900123"),  # another country, no '+'
    ],
)
def test_odd_numbers_are_recorded_as_received(
    client: FlaskClient, services: Services, contact: str, sender: str, key: str
) -> None:
    _ok(post(client, mo_text("STOP", contact=contact, sender=sender)))
    # The ledger itself: the API refuses to look up a number the phone library does not know.
    [stopped] = services.consent.ledger.events_of(key, 10)
    assert (stopped.contact_received, stopped.sender_received) == (contact, sender)
    assert stopped.new_status == "opted_out"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{not json", "invalid_input"),
        (b"\xff\xfe\x00garbage", "invalid_input"),
        (b"[" * 50_000, "invalid_input"),  # nested too deep for the parser
        (b'["mo_text"]', "invalid_input"),
        (b'{"id": "01JB1J1M5BM5XQ8Q0ZWBM44E14"}', "missing_field"),
        (b'{"type": "mo_text", "body": "STOP"}', "missing_field"),
        (b'{"type": "something_new"}', "not_a_carrier_delivery"),
    ],
)
def test_a_checked_body_that_is_no_callback_is_400(
    client: FlaskClient, services: Services, body: bytes, error: str
) -> None:
    response = post(client, body)
    assert response.status_code == 400
    assert response.get_json()["error"] == error
    assert _events(services) == 0


@pytest.mark.parametrize(
    "message_id",
    [
        "01jb1j1m5bm5xq8q0zwbm44e14",  # lower case
        "01JB1J1M5BM5XQ8Q0ZWBM44E1",  # 25 characters
        "01JB1J1M5BM5XQ8Q0ZWBM44E14X",  # 27
        "01JB1J1M5BM5XQ8Q0ZWBM44EIL",  # I and L are not Crockford base32
        "81JB1J1M5BM5XQ8Q0ZWBM44E14",  # beyond a ULID's first character
        "01JB1J1M5BM5XQ8Q0ZWBM44E14-12065550123",  # a report's key is no text's id
    ],
)
def test_an_id_not_in_sinchs_format_is_400(
    client: FlaskClient, services: Services, message_id: str
) -> None:
    response = post(client, mo_text("STOP", message_id=message_id))
    assert response.status_code == 400
    assert "id" in response.get_json()["detail"]
    assert _events(services) == 0


def test_a_repeated_key_is_refused(client: FlaskClient, services: Services) -> None:
    event = json.dumps(mo_text("hello"))[:-1] + ', "body": "STOP"}'
    response = post(client, event.encode())
    assert response.status_code == 400
    assert "body" in response.get_json()["detail"]
    assert _events(services) == 0


@pytest.mark.parametrize("kind", ["mo_binary", "mo_media", "delivery_report_sms"])
def test_other_callback_types_are_acknowledged_and_not_stored(
    client: FlaskClient, services: Services, kind: str
) -> None:
    event = {**mo_text("STOP"), "type": kind, "body": "U1RPUA=="}
    _ok(post(client, event))
    assert _events(services) == 0


def test_a_body_over_64_kib_is_413(client: FlaskClient, services: Services) -> None:
    response = post(client, mo_text("x" * (65 * 1024)))
    assert response.status_code == 413
    assert response.get_json()["error"] == "request_entity_too_large"
    assert _events(services) == 0


def test_a_chunked_body_over_the_limit_is_413(client: FlaskClient) -> None:
    body = json.dumps(mo_text("x" * (65 * 1024))).encode()
    response = client.post(
        HOOK,
        input_stream=io.BytesIO(body),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked", **basic()},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413


def test_an_agent_cannot_undo_a_texted_stop(client: FlaskClient, services: Services) -> None:
    _ok(post(client, mo_text("STOP")))
    with pytest.raises(NotAllowed):
        services.consent.opt_in(CONTACT_E164, BUSINESS_E164, Actor(Source.AGENT, "U1"))
    assert _status(services) == "opted_out"


def test_an_id_sent_again_with_other_words_gets_the_first_answer(
    client: FlaskClient, services: Services
) -> None:
    message_id = new_id()
    _ok(post(client, mo_text("STOP", message_id=message_id)))
    _ok(post(client, mo_text("START", message_id=message_id)))  # a replay with other words
    assert _status(services) == "opted_out"
