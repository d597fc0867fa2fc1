"""Sinch's delivery reports: 257 (the recipient opted out) recorded once as their own opt-out."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from core.config import Settings
from core.errors import NotAllowed
from core.model import Actor, Source
from core.phone import carrier_number
from stopline.wiring import Services
from tests.web.helpers import bearer
from tests.web.sinch_helpers import (
    BUSINESS,
    BUSINESS_E164,
    CONTACT,
    CONTACT_E164,
    basic,
    new_id,
    post,
    report,
    with_sinch,
)

OTHER_E164 = "+14155550123"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings, Sinch's door on."""
    return with_sinch(settings)


def _ok(response: TestResponse) -> None:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_data() == b""


def _opted_out(services: Services, sender: str = BUSINESS_E164) -> bool:
    return services.consent.status(CONTACT_E164, sender).can_send is False


def test_an_opted_out_report_without_a_sender_opts_out_of_the_whole_account(
    client: FlaskClient, services: Services
) -> None:
    event = report(257)
    _ok(post(client, event))
    # The report does not say which number sent the batch: every number is covered.
    assert _opted_out(services) and _opted_out(services, OTHER_E164)
    assert services.consent.status(CONTACT_E164, None).status == "opted_out"
    [stopped] = services.consent.events(CONTACT_E164)
    assert (stopped.carrier, stopped.scope, stopped.source) == ("sinch", "account", "contact")
    assert stopped.carrier_message_id == f"{event['batch_id']}-{CONTACT}"
    assert stopped.rule == "carrier:sinch:257" and "257" in (stopped.reason or "")
    assert stopped.sender is None and stopped.contact_received == CONTACT


def test_an_opted_out_report_with_its_applied_originator_covers_that_number(
    client: FlaskClient, services: Services
) -> None:
    # rules.yml names no carrier_scope for sinch: the sender's scope, as Sinch blocks it.
    _ok(post(client, report(257, applied_originator=BUSINESS)))
    assert _opted_out(services) and not _opted_out(services, OTHER_E164)
    [stopped] = services.consent.events(CONTACT_E164)
    assert (stopped.sender, stopped.sender_received) == (BUSINESS_E164, BUSINESS)


@pytest.mark.parametrize("originator", ["MyBrand", "SHOP 24", "+"])
def test_an_originator_that_is_no_number_is_taken_as_the_account(
    client: FlaskClient, services: Services, originator: str
) -> None:
    _ok(post(client, report(257, applied_originator=originator)))
    assert _opted_out(services) and _opted_out(services, OTHER_E164)


def test_a_retried_report_is_recorded_once(client: FlaskClient, services: Services) -> None:
    event = report(257)
    for _ in range(3):
        _ok(post(client, event))
    assert len(services.consent.events(CONTACT_E164)) == 1


def test_two_recipients_of_one_batch_are_two_opt_outs(
    client: FlaskClient, services: Services
) -> None:
    batch = new_id()
    _ok(post(client, report(257, batch_id=batch)))
    _ok(post(client, report(257, batch_id=batch, recipient="14155550199")))
    assert _opted_out(services)
    assert services.consent.status("+14155550199", BUSINESS_E164).can_send is False


def test_agents_cannot_opt_the_contact_back_in(client: FlaskClient, services: Services) -> None:
    _ok(post(client, report(257)))
    with pytest.raises(NotAllowed):
        services.consent.opt_in(CONTACT_E164, None, Actor(Source.AGENT, "U1"))
    # An opt-in for one number leaves the account-wide opt-out as it is.
    one = services.consent.opt_in(CONTACT_E164, BUSINESS_E164, Actor(Source.AGENT, "U1"))
    assert not one.changed and one.status.can_send is False
    assert _opted_out(services)


def test_the_opt_out_is_in_the_export(client: FlaskClient, services: Services) -> None:
    _ok(post(client, report(257)))
    export = client.get("/v1/optouts", headers=bearer())
    assert export.status_code == 200
    assert CONTACT_E164 in export.get_data(as_text=True)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (0, "Delivered"),
        (401, "Dispatched"),
        (402, "Aborted"),  # unroutable
        (404, "Aborted"),  # a temporary failure
        (413, "Aborted"),  # the account is blocked: not the recipient's choice
        (None, "Delivered"),
    ],
)
def test_other_reports_are_acknowledged_and_not_stored(
    client: FlaskClient, services: Services, code: object, status: str
) -> None:
    event = {**report(0, status), "code": code}
    _ok(post(client, event))
    assert services.consent.events(CONTACT_E164) == []
    assert not _opted_out(services)


def test_a_code_given_as_text_is_read_as_the_same_code(
    client: FlaskClient, services: Services
) -> None:
    _ok(post(client, {**report(0, "Failed"), "code": "257"}))
    assert _opted_out(services)


@pytest.mark.parametrize("recipient", ["+12065550123", "2065550123", "12065550123", 12065550123])
def test_odd_recipients_are_recorded(
    client: FlaskClient, services: Services, recipient: object
) -> None:
    _ok(post(client, {**report(257), "recipient": recipient}))
    assert _opted_out(services)


def test_a_recipient_longer_than_any_number_still_fits_the_ledger(
    client: FlaskClient, services: Services
) -> None:
    recipient = "1" * 60
    _ok(post(client, report(257, recipient=recipient)))
    [stopped] = services.consent.ledger.events_of(carrier_number(recipient).key, 10)
    assert stopped.contact_received == recipient
    assert len(stopped.carrier_message_id or "") == 64


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"batch_id": "01jb1j1m5bm5xq8q0zwbm44e14"}, "not_a_carrier_delivery"),
        ({"batch_id": None}, "missing_field"),
        ({"recipient": ""}, "missing_field"),
        ({"recipient": ["12065550123"]}, "invalid_input"),
        ({"status": 5}, "invalid_input"),
    ],
)
def test_a_report_missing_what_sinch_always_sends_is_400(
    client: FlaskClient, services: Services, change: dict[str, object], error: str
) -> None:
    response = post(client, {**report(257), **change})
    assert response.status_code == 400
    assert response.get_json()["error"] == error
    assert services.consent.events(CONTACT_E164) == []


def test_a_report_with_wrong_credentials_changes_nothing(
    client: FlaskClient, services: Services
) -> None:
    response = post(client, report(257), headers=basic(password="guess"))
    assert response.status_code == 401
    assert not _opted_out(services)
