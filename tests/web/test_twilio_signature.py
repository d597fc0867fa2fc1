"""The Twilio signature check: one HMAC for a genuine request; what Twilio signs is accepted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from twilio.request_validator import HMAC_SHA256, RequestValidator

from stopline.wiring import Services
from tests.web.helpers import BUSINESS, CONTACT, HOOK, HOOK_URL, TWILIO_TOKEN, post_sms, sign, sms

SHA256_SETTINGS = "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"


@pytest.fixture
def hmacs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every URL the twilio library computes an HMAC for while the test runs."""
    seen: list[str] = []
    real = RequestValidator.compute_signature

    def counting(self: RequestValidator, uri: str, params: object, algorithm: str | None = None
                 ) -> str:  # fmt: skip
        seen.append(uri)
        return str(real(self, uri, params, algorithm))

    monkeypatch.setattr(RequestValidator, "compute_signature", counting)
    yield seen


def test_a_genuine_request_costs_one_hmac(client: FlaskClient, hmacs: list[str]) -> None:
    form = sms("hello")
    signature = sign(form)  # computed before counting starts below
    hmacs.clear()
    assert post_sms(client, form, signature=signature).status_code == 200
    assert hmacs == [HOOK_URL]


def test_a_genuine_hmac_sha256_request_costs_one_hmac(
    client: FlaskClient, services: Services, hmacs: list[str]
) -> None:
    form = sms("STOP")
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(HOOK_URL, form, HMAC_SHA256)
    hmacs.clear()
    headers = {"X-Twilio-Signature": signature,
               "X-Twilio-Webhooks-Signature-Settings": SHA256_SETTINGS}  # fmt: skip
    assert client.post(HOOK, data=form, headers=headers).status_code == 200
    assert hmacs == [HOOK_URL]
    assert not services.consent.status(CONTACT, BUSINESS).can_send


def test_the_port_variant_costs_a_second_hmac_and_is_accepted(
    client: FlaskClient, hmacs: list[str]
) -> None:
    form = sms("hello")
    signature = sign(form, url="http://localhost:80/webhooks/twilio")
    hmacs.clear()
    assert post_sms(client, form, signature=signature).status_code == 200
    assert hmacs == [HOOK_URL, "http://localhost:80/webhooks/twilio"]


def test_a_forged_request_tries_each_variant_once(client: FlaskClient, hmacs: list[str]) -> None:
    form = sms("STOP")
    assert post_sms(client, form, signature="x" * 28).status_code == 403
    assert sorted(hmacs) == sorted(set(hmacs)) and len(hmacs) == 2


def test_an_unknown_algorithm_is_refused_without_a_500(
    client: FlaskClient, services: Services
) -> None:
    form = sms("STOP")
    headers = {"X-Twilio-Signature": sign(form),
               "X-Twilio-Webhooks-Signature-Settings": "key=k,algorithm=HMAC_MD7"}  # fmt: skip
    assert client.post(HOOK, data=form, headers=headers).status_code == 403
    assert services.consent.status(CONTACT, BUSINESS).can_send
