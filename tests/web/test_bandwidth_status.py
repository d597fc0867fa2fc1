"""Bandwidth's events about sent messages: 4775 is the contact's own opt-out, the rest ignored."""

from __future__ import annotations

import csv
import io

import pytest
from flask.testing import FlaskClient

from core.config import Settings
from core.errors import NotAllowed
from core.model import Actor, Source
from stopline.wiring import Services
from tests.web.bandwidth_helpers import events, outbound, post, status, with_bandwidth
from tests.web.helpers import BUSINESS, CONTACT, bearer


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings with Bandwidth's callback credentials."""
    return with_bandwidth(settings)


def _opted_out(code: int | str = 4775, **kwargs: str) -> list[dict[str, object]]:
    return [outbound("message-failed", code=code, **kwargs)]


def test_4775_is_the_contacts_own_opt_out_with_its_evidence(
    client: FlaskClient, services: Services
) -> None:
    callback = _opted_out()
    response = post(client, callback)
    assert response.status_code == 200 and response.get_data() == b""
    found = services.consent.status(CONTACT, BUSINESS)
    assert str(found.status) == "opted_out" and found.opted_out_by is Source.CONTACT
    (event,) = services.consent.events(CONTACT)
    message = callback[0]["message"]
    assert isinstance(message, dict)
    assert (event.carrier, event.carrier_message_id) == ("bandwidth", message["id"])
    assert event.rule == "carrier:bandwidth:4775"
    assert event.reason is not None and "4775" in event.reason


def test_a_retried_4775_is_recorded_once(client: FlaskClient, services: Services) -> None:
    callback = _opted_out()
    assert [post(client, callback).status_code for _ in range(3)] == [200, 200, 200]
    assert events(services) == 1


def test_agents_cannot_opt_in_a_4775_opt_out(client: FlaskClient, services: Services) -> None:
    post(client, _opted_out())
    with pytest.raises(NotAllowed):
        services.consent.opt_in(CONTACT, BUSINESS, Actor(Source.AGENT, "U123"))
    assert status(services) == "opted_out"


def test_a_4775_opt_out_is_in_the_export(client: FlaskClient, services: Services) -> None:
    post(client, _opted_out())
    response = client.get("/v1/optouts", headers=bearer())
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row for row in rows if CONTACT in row.values()], rows


def test_the_error_code_as_text_is_read_too(client: FlaskClient, services: Services) -> None:
    assert post(client, _opted_out(code="4775")).status_code == 200
    assert status(services) == "opted_out"


@pytest.mark.parametrize(
    ("contact", "sender", "key"),
    [("12065550123", BUSINESS, CONTACT), ("2065550123", "12065550100", CONTACT),
     (CONTACT, "12345", CONTACT)],
)  # fmt: skip
def test_a_4775_to_odd_numbers_is_recorded_as_sent(
    client: FlaskClient, services: Services, contact: str, sender: str, key: str
) -> None:
    assert post(client, _opted_out(contact=contact, sender=sender)).status_code == 200
    (event,) = services.consent.events(key)
    assert (event.contact_received, event.sender_received) == (contact, sender)


@pytest.mark.parametrize(
    "callback",
    [
        [outbound("message-failed", code=4432)],  # forbidden to country
        [outbound("message-failed", code=4470)],  # spam: not an opt-out
        [outbound("message-failed", code=4720)],  # invalid destination
        [outbound("message-failed", code=9902)],  # delivery receipt expired
        [outbound("message-delivered")],
        [outbound("message-sending")],
        [outbound("message-read")],  # a type added later: acknowledged
    ],
)
def test_other_events_are_acknowledged_and_not_stored(
    client: FlaskClient, services: Services, callback: list[dict[str, object]]
) -> None:
    response = post(client, callback)
    assert response.status_code == 200 and response.get_data() == b""
    assert status(services) == "subscribed" and events(services) == 0


def test_the_description_is_never_read(client: FlaskClient, services: Services) -> None:
    # Bandwidth: use errorCode only. An opted-out description with another code is not one.
    callback = [outbound("message-failed", code=4750)]
    assert "opt-out" in str(callback[0]["description"])
    assert post(client, callback).status_code == 200
    assert events(services) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"errorCode": None}, "errorCode"),
        ({"errorCode": "47x5"}, "errorCode"),
        ({"errorCode": True}, "errorCode"),
        ({"to": None}, "to"),
        ({"message": None}, "message object"),
    ],
)
def test_a_failed_send_without_the_needed_fields_is_400(
    client: FlaskClient, services: Services, change: dict[str, object], field: str
) -> None:
    event = {**outbound("message-failed", code=4775), **change}
    response = post(client, [event])
    assert response.status_code == 400
    assert field in response.get_json()["detail"]
    assert events(services) == 0


def test_a_failed_send_without_its_sender_is_400(client: FlaskClient, services: Services) -> None:
    event = outbound("message-failed", code=4775)
    del event["message"]["from"]
    response = post(client, [event])
    assert response.status_code == 400 and "message.from" in response.get_json()["detail"]
    assert events(services) == 0


@pytest.mark.parametrize(
    ("contact", "sender"), [("+1206555\ud8000123", BUSINESS), (CONTACT, "+1206555\x000100")]
)
def test_a_4775_whose_numbers_hold_what_no_text_column_stores_is_recorded(
    client: FlaskClient, services: Services, contact: str, sender: str
) -> None:
    # JSON can carry a lone surrogate or a NUL; the ledger stores neither, so they are cleaned
    # as a text's are. Once a 503 here: Bandwidth retried for 24 h, then the opt-out was lost.
    assert post(client, _opted_out(contact=contact, sender=sender)).status_code == 200
    assert status(services) == "opted_out" and events(services) == 1
