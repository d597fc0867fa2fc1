"""POST /webhooks/twilio/status: error 21610 (the recipient opted out) lands in the ledger, once."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from core.config import Settings
from core.errors import NotAllowed
from core.model import Actor, Scope, Source, Status
from stopline.wiring import Services, build_services
from tests.conftest import RULES
from tests.web.helpers import (
    BUSINESS,
    CONTACT,
    OTHER_BUSINESS,
    bearer,
    messages,
    new_sid,
    post_sms,
    sign,
    sms,
)
from web import create_app

STATUS_HOOK = "/webhooks/twilio/status"


def status_form(code: str | None, *, status: str = "failed", sid: str | None = None,
                contact: str = CONTACT, sender: str = BUSINESS) -> dict[str, str]:  # fmt: skip
    """The form Twilio posts to a message's StatusCallback."""
    form = {
        "MessageSid": sid or new_sid(),
        "MessageStatus": status,
        "To": contact,
        "From": sender,
        "AccountSid": "AC" + "0" * 32,
        "ApiVersion": "2010-04-01",
    }
    if code is not None:
        form["ErrorCode"] = code
    return form


def post_status(client: FlaskClient, form: dict[str, str], signature: str | None = None
                ) -> TestResponse:  # fmt: skip
    """POST a status callback, signed for the status URL unless a signature is given."""
    signed = signature if signature is not None else sign(form, "http://localhost" + STATUS_HOOK)
    return client.post(STATUS_HOOK, data=form, headers={"X-Twilio-Signature": signed})


def test_21610_opts_the_contact_out_of_the_sender_as_their_own(
    client: FlaskClient, services: Services
) -> None:
    form = status_form("21610")
    assert messages(post_status(client, form)) == []  # an empty <Response/>
    status = services.consent.status(CONTACT, BUSINESS)
    assert status.status is Status.OPTED_OUT and status.opted_out_by is Source.CONTACT
    assert status.scope is Scope.SENDER
    assert services.consent.status(CONTACT, OTHER_BUSINESS).can_send  # the sender's block only
    (event,) = services.consent.events(CONTACT)
    assert (event.action, event.source, event.actor) == ("opt_out", Source.CONTACT, "twilio")
    assert (event.carrier, event.carrier_message_id) == ("twilio", form["MessageSid"])
    assert event.rule == "carrier:twilio:21610" and event.sender == BUSINESS
    assert event.reason is not None
    assert "21610" in event.reason and form["MessageSid"] in event.reason
    assert event.message_text is None and event.keyword is None


def test_a_repeated_callback_is_recorded_once(client: FlaskClient, services: Services) -> None:
    form = status_form("21610")
    for _ in range(3):
        assert post_status(client, form).status_code == 200
    assert len(services.consent.events(CONTACT)) == 1


def test_a_retry_after_the_contacts_start_does_not_opt_them_out_again(
    client: FlaskClient, services: Services
) -> None:
    form = status_form("21610")
    post_status(client, form)
    assert messages(post_sms(client, sms("START")))  # the contact's own START
    assert services.consent.status(CONTACT, BUSINESS).can_send
    post_status(client, form)  # Twilio retries the old callback
    assert services.consent.status(CONTACT, BUSINESS).can_send


def test_for_a_contact_already_opted_out_it_changes_nothing(
    client: FlaskClient, services: Services
) -> None:
    post_sms(client, sms("STOP"))
    before = services.consent.events(CONTACT)
    assert post_status(client, status_form("21610")).status_code == 200
    assert services.consent.events(CONTACT) == before


@pytest.mark.parametrize(
    ("code", "status"),
    [(None, "delivered"), (None, "sent"), ("30003", "undelivered"), ("30007", "failed"),
     ("", "failed"), ("21611", "failed")],
)  # fmt: skip
def test_other_statuses_are_acknowledged_and_not_stored(
    client: FlaskClient, services: Services, code: str | None, status: str
) -> None:
    assert post_status(client, status_form(code, status=status)).status_code == 200
    assert services.consent.events(CONTACT) == []
    assert services.consent.status(CONTACT, BUSINESS).can_send


def test_agents_cannot_opt_the_contact_back_in(client: FlaskClient, services: Services) -> None:
    post_status(client, status_form("21610"))
    with pytest.raises(NotAllowed):
        services.consent.opt_in(CONTACT, BUSINESS, Actor(Source.AGENT, "U0AGENT"))
    assert not services.consent.status(CONTACT, BUSINESS).can_send


def test_the_opt_out_is_in_the_export(client: FlaskClient) -> None:
    post_status(client, status_form("21610"))
    csv = client.get("/v1/optouts", headers=bearer()).get_data(as_text=True)
    (line,) = [row for row in csv.splitlines() if CONTACT in row]
    assert BUSINESS in line and "carrier:twilio:21610" in line


@pytest.mark.parametrize(
    "contact", ["2065550123", "(206) 555-0123", "+1 206 555 0123", "12065550123"]
)
def test_the_recipient_in_any_shape_lands_on_its_number(
    client: FlaskClient, services: Services, contact: str
) -> None:
    assert post_status(client, status_form("21610", contact=contact)).status_code == 200
    assert not services.consent.status(CONTACT, BUSINESS).can_send


def test_a_forged_callback_is_refused_and_changes_nothing(
    client: FlaskClient, services: Services
) -> None:
    form = status_form("21610")
    signed_for_inbound = sign(form)  # signed for /webhooks/twilio, not for the status URL
    assert post_status(client, form, signature=signed_for_inbound).status_code == 403
    assert post_status(client, form, signature="").status_code == 403
    assert services.consent.events(CONTACT) == []


def test_a_callback_without_numbers_is_a_clear_400(client: FlaskClient) -> None:
    form = status_form("21610")
    del form["To"]
    response = post_status(client, form)
    assert response.status_code == 400 and "To" in response.get_json()["detail"]


def test_the_door_is_off_without_the_token(settings: Settings, services: Services) -> None:
    off = create_app(settings.model_copy(update={"twilio_auth_token": None}), services)
    response = post_status(off.test_client(), status_form("21610"))
    assert response.status_code == 503 and "TWILIO_AUTH_TOKEN" in response.get_json()["detail"]


def test_carrier_scope_account_blocks_every_number(settings: Settings, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES.read_text().replace("  twilio: sender", "  twilio: account"))
    wide = settings.model_copy(update={"rules_path": rules})
    services = build_services(wide)
    try:
        client = create_app(wide, services).test_client()
        assert post_status(client, status_form("21610")).status_code == 200
        status = services.consent.status(CONTACT, OTHER_BUSINESS)
        assert not status.can_send and status.scope is Scope.ACCOUNT
    finally:
        services.close()


def test_a_refusal_sent_from_an_alphanumeric_sender_id_is_kept(
    client: FlaskClient, services: Services
) -> None:
    assert post_status(client, status_form("21610", sender="AcmeInc")).status_code == 200
    status = services.consent.status(CONTACT, OTHER_BUSINESS)
    assert not status.can_send and status.scope is Scope.ACCOUNT
