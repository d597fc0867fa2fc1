"""The Vonage status door (POST /webhooks/vonage/status): 1240 is the contact's own opt-out."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from core.config import Settings
from core.errors import NotAllowed
from core.model import Actor, Source
from stopline.wiring import Services
from tests.web.helpers import bearer
from tests.web.vonage_helpers import (
    BUSINESS_KEY,
    CONTACT_E164,
    OTHER_BUSINESS_KEY,
    STATUS_HOOK,
    body_of,
    post,
    status,
    token,
    vonage_settings,
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test settings with Vonage's door on."""
    return vonage_settings(settings)


def _post(client: FlaskClient, payload: Any) -> None:
    response = post(client, payload, path=STATUS_HOOK)
    # Vonage resends for 24 h anything but 200/204.
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.data == b""


def _events(services: Services) -> int:
    return len(services.consent.events(CONTACT_E164))


def test_illegal_number_is_the_contacts_own_opt_out_recorded_once(
    client: FlaskClient, services: Services
) -> None:
    payload = status("rejected", error=1240)
    _post(client, payload)
    _post(client, payload)  # Vonage's retry of the same status
    _post(client, status("rejected", error=1240))  # another refused send: nothing new
    found = services.consent.status(CONTACT_E164, BUSINESS_KEY)
    assert str(found.status) == "opted_out" and found.opted_out_by is Source.CONTACT
    (event,) = services.consent.events(CONTACT_E164)
    assert event.carrier == "vonage" and event.carrier_message_id == payload["message_uuid"]
    assert event.rule == "carrier:vonage:1240" and "1240" in (event.reason or "")
    # Opt-Out Assist blocks only the number texted: the default scope is the sender.
    assert services.consent.status(CONTACT_E164, OTHER_BUSINESS_KEY).can_send


def test_agents_cannot_opt_the_contact_back_in(client: FlaskClient, services: Services) -> None:
    _post(client, status("rejected", error=1240))
    with pytest.raises(NotAllowed):
        services.consent.opt_in(CONTACT_E164, BUSINESS_KEY, Actor(Source.AGENT, "U123"))
    assert not services.consent.status(CONTACT_E164, BUSINESS_KEY).can_send


def test_the_opt_out_is_in_the_export(client: FlaskClient) -> None:
    _post(client, status("rejected", error=1240))
    export = client.get("/v1/optouts", headers=bearer("test-api-token"))
    assert export.status_code == 200
    assert CONTACT_E164 in export.get_data(as_text=True)


def test_the_v0_1_error_shape_is_read_too(client: FlaskClient, services: Services) -> None:
    _post(client, {**status("rejected"), "error": {"code": 1240, "reason": "Illegal Number"}})
    assert not services.consent.status(CONTACT_E164, BUSINESS_KEY).can_send


@pytest.mark.parametrize(
    ("state", "error"),
    [
        ("submitted", None),
        ("delivered", None),
        ("read", None),
        ("rejected", 1250),  # Unroutable
        ("undeliverable", 1190),  # Absent Subscriber Permanent: not an opt-out
        ("rejected", 1050),  # Number barred (by Vonage, not by the contact)
    ],
)
def test_other_statuses_are_acknowledged_and_not_stored(
    client: FlaskClient, services: Services, state: str, error: int | None
) -> None:
    _post(client, status(state, error=error))
    assert _events(services) == 0
    assert services.consent.status(CONTACT_E164, BUSINESS_KEY).can_send


@pytest.mark.parametrize(("channel", "stored"), [("mms", 1), ("whatsapp", 0), ("viber_service", 0)])
def test_an_opted_out_status_counts_for_sms_and_mms_only(
    client: FlaskClient, services: Services, channel: str, stored: int
) -> None:
    _post(client, {**status("rejected", error=1240), "channel": channel})
    assert _events(services) == stored


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"error": "1240"}, "error"),
        ({"status": None}, "status"),
        ({"to": None}, "to"),
        ({"message_uuid": "0000"}, "message_uuid"),
    ],
)
def test_signed_statuses_with_a_bad_field_are_400(
    client: FlaskClient, services: Services, change: dict[str, object], named: str
) -> None:
    response = post(client, {**status("rejected", error=1240), **change}, path=STATUS_HOOK)
    assert response.status_code == 400
    assert named in response.get_json()["detail"]
    assert _events(services) == 0


def test_a_forged_opted_out_status_is_401(client: FlaskClient, services: Services) -> None:
    body = body_of(status("rejected", error=1240))
    forged = token(body, secret="someone-else's-signature-secret-of-enough-length!")
    response = post(client, None, path=STATUS_HOOK, raw=body, authorization=f"Bearer {forged}")
    assert response.status_code == 401
    assert _events(services) == 0
