"""The Twilio hook with real signed requests over a real ledger."""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient
from twilio.request_validator import HMAC_SHA256, RequestValidator
from werkzeug.datastructures import MultiDict

from core.config import Settings
from stopline.wiring import Services
from tests.web.helpers import (
    BUSINESS,
    CONTACT,
    HOOK,
    HOOK_URL,
    OTHER_BUSINESS,
    TWILIO_TOKEN,
    messages,
    post_sms,
    sign,
    sms,
)
from web import create_app


def _status(services: Services, sender: str = BUSINESS) -> str:
    return str(services.consent.status(CONTACT, sender).status)


def _events(services: Services) -> int:
    return len(services.consent.events(CONTACT))


def test_stop_answers_confirmation_and_opts_out(client: FlaskClient, services: Services) -> None:
    replies = messages(post_sms(client, sms("STOP")))
    assert len(replies) == 1 and replies[0].strip()
    assert _status(services) == "opted_out"
    # STOP covers the number texted; another number of the business may still text.
    assert _status(services, OTHER_BUSINESS) == "subscribed"


def test_retried_message_sid_gets_same_answer_and_one_event(
    client: FlaskClient, services: Services
) -> None:
    form = sms("STOP")
    first = post_sms(client, form)
    second = post_sms(client, form)
    assert messages(first) == messages(second)
    assert _events(services) == 1


def test_sms_sid_is_accepted_without_message_sid(client: FlaskClient, services: Services) -> None:
    form = sms("STOP")
    form["SmsSid"] = form.pop("MessageSid")
    assert len(messages(post_sms(client, form))) == 1
    assert _status(services) == "opted_out"


def test_already_opted_out_gets_no_second_confirmation(
    client: FlaskClient, services: Services
) -> None:
    assert len(messages(post_sms(client, sms("STOP")))) == 1
    assert messages(post_sms(client, sms("STOP"))) == []
    assert _status(services) == "opted_out"


def test_help_answers_without_changing_consent(client: FlaskClient, services: Services) -> None:
    replies = messages(post_sms(client, sms("HELP")))
    assert len(replies) == 1 and replies[0].strip()
    assert _status(services) == "subscribed"


def test_plain_text_answers_an_empty_response(client: FlaskClient, services: Services) -> None:
    assert messages(post_sms(client, sms("Can we stop by tomorrow?"))) == []
    assert _status(services) == "subscribed"


def test_start_after_stop_opts_back_in(client: FlaskClient, services: Services) -> None:
    post_sms(client, sms("STOP"))
    post_sms(client, sms("START"))
    assert _status(services) == "subscribed"


def test_unknown_new_twilio_fields_are_signed_and_accepted(
    client: FlaskClient, services: Services
) -> None:
    form = {**sms("STOP"), "OptOutType": "STOP", "BrandNewField2027": "x"}
    assert len(messages(post_sms(client, form))) == 1
    assert _status(services) == "opted_out"


def test_forged_signature_is_403_and_changes_nothing(
    client: FlaskClient, services: Services
) -> None:
    form = sms("STOP")
    forged = sign(form, token="not-the-token")
    response = post_sms(client, form, signature=forged)
    assert response.status_code == 403
    assert response.get_json()["error"] == "invalid_signature"
    assert _status(services) == "subscribed" and _events(services) == 0


def test_signature_of_other_params_is_403(client: FlaskClient, services: Services) -> None:
    original = sms("hello")
    tampered = {**original, "Body": "STOP"}
    response = post_sms(client, tampered, signature=sign(original))
    assert response.status_code == 403
    assert _status(services) == "subscribed"


def test_unsigned_is_403_and_changes_nothing(client: FlaskClient, services: Services) -> None:
    response = post_sms(client, sms("STOP"), signed=False)
    assert response.status_code == 403
    assert response.is_json
    assert _events(services) == 0


def test_without_auth_token_the_hook_is_503(settings: Settings, services: Services) -> None:
    off = settings.model_copy(update={"twilio_auth_token": None})
    client = create_app(off, services).test_client()
    response = post_sms(client, sms("STOP"))
    assert response.status_code == 503
    assert "TWILIO_AUTH_TOKEN" in response.get_json()["detail"]
    assert _events(services) == 0


def test_public_url_is_what_gets_signed(settings: Settings, services: Services) -> None:
    public = "https://sms.example.com"
    behind = settings.model_copy(update={"public_url": public + "/"})
    client = create_app(behind, services).test_client()
    form = sms("STOP")
    wrong = client.post(HOOK, data=form, headers={"X-Twilio-Signature": sign(form)})
    assert wrong.status_code == 403
    right = client.post(
        HOOK + "?a=1", data=form, headers={"X-Twilio-Signature": sign(form, public + HOOK + "?a=1")}
    )
    assert len(messages(right)) == 1


def test_missing_from_is_400(client: FlaskClient, services: Services) -> None:
    form = sms("STOP")
    del form["From"]
    response = post_sms(client, form)
    assert response.status_code == 400
    assert "From" in response.get_json()["detail"]


def test_missing_message_sid_is_400(client: FlaskClient) -> None:
    form = sms("STOP")
    del form["MessageSid"]
    assert post_sms(client, form).status_code == 400


@pytest.mark.parametrize("contact", ["+1206001234", "whatsapp:+12065550123", "+99912345"])
def test_a_from_the_phone_library_refuses_is_still_recorded(
    client: FlaskClient, services: Services, contact: str
) -> None:
    # Twilio signed it: refusing it would lose the STOP (a 4xx is not retried).
    assert len(messages(post_sms(client, sms("STOP", contact=contact)))) == 1


@pytest.mark.parametrize(("contact", "why"), [("+1 206 555 O1OO", "letters"), (" ", "no digits"),
                                              ("whatsapp:", "no digits")])  # fmt: skip
def test_a_from_without_digits_or_with_letters_is_400_with_the_reason(
    client: FlaskClient, services: Services, contact: str, why: str
) -> None:
    response = post_sms(client, sms("STOP", contact=contact))
    assert response.status_code == 400
    assert why in response.get_json()["detail"]
    assert _events(services) == 0


def test_body_over_64_kib_is_413(client: FlaskClient, services: Services) -> None:
    form = sms("x" * (65 * 1024))
    response = post_sms(client, form)
    assert response.status_code == 413
    assert response.get_json()["error"] == "request_entity_too_large"
    assert _events(services) == 0


def test_chunked_body_over_the_limit_is_413(client: FlaskClient) -> None:
    # No Content-Length: the cap on the stream itself must stop it.
    body = b"Body=" + b"x" * (65 * 1024)
    response = client.post(
        HOOK,
        input_stream=io.BytesIO(body),
        content_type="application/x-www-form-urlencoded",
        headers={"Transfer-Encoding": "chunked", "X-Twilio-Signature": "x"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413


def test_get_on_the_hook_is_405_json(client: FlaskClient) -> None:
    response = client.get(HOOK)
    assert response.status_code == 405
    assert response.get_json()["error"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]


def test_hmac_sha256_signature_settings_are_honoured(
    client: FlaskClient, services: Services
) -> None:
    form = sms("STOP")
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(HOOK_URL, form, HMAC_SHA256)
    headers = {
        "X-Twilio-Signature": signature,
        "X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256",
    }
    assert len(messages(client.post(HOOK, data=form, headers=headers))) == 1
    # The same signature claimed as SHA-1 does not pass.
    assert post_sms(client, sms("STOP"), signature=signature).status_code == 403


def test_repeated_fields_are_refused_though_signed(client: FlaskClient, services: Services) -> None:
    # Twilio signs the set of a name's values, not their order: which Body counts would be the
    # sender's choice. Twilio sends each field once, so a repeat is never a genuine delivery.
    form = MultiDict([*sms("STOP").items(), ("Body", "hello")])
    response = post_sms(client, form)
    assert response.status_code == 400
    assert response.get_json()["error"] == "not_a_carrier_delivery"
    assert "Body" in response.get_json()["detail"]
    assert _status(services) == "subscribed" and _events(services) == 0


def test_a_short_code_sender_is_accepted(client: FlaskClient, services: Services) -> None:
    assert len(messages(post_sms(client, sms("STOP", sender="12345")))) == 1
    assert _status(services, "12345") == "opted_out"


@pytest.mark.parametrize(
    ("signed_for", "accepted"),
    [
        ("http://localhost/webhooks/twilio", True),  # the URL as received
        ("http://localhost:80/webhooks/twilio", True),  # with its default port (Twilio may)
        ("http://localhost:8080/webhooks/twilio", False),  # another port: another URL
        ("https://localhost/webhooks/twilio", False),
        ("http://localhost/webhooks/twilio?x=1", False),
    ],
)
def test_the_url_variants_twilio_signs(
    client: FlaskClient, services: Services, signed_for: str, accepted: bool
) -> None:
    form = sms("STOP")
    response = post_sms(client, form, signature=sign(form, url=signed_for))
    assert response.status_code == (200 if accepted else 403)
    assert services.consent.status(CONTACT, BUSINESS).can_send is not accepted
