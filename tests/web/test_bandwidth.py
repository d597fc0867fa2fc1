"""The Bandwidth hook's texts over a real ledger (its refusals: test_bandwidth_refusals.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from core.config import Settings
from stopline.wiring import Services
from tests.rawsqlite import raw_sqlite
from tests.web.bandwidth_helpers import (
    events,
    outbound,
    post,
    received,
    status,
    with_bandwidth,
)
from tests.web.helpers import BUSINESS, CONTACT, OTHER_BUSINESS, bearer

OTHER_CONTACT = "+12065550199"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings with Bandwidth's callback credentials."""
    return with_bandwidth(settings)


def test_stop_is_200_empty_and_opts_out_of_the_number_texted(
    client: FlaskClient, services: Services
) -> None:
    response = post(client, [received("STOP")])
    assert response.status_code == 200 and response.get_data() == b""
    assert status(services) == "opted_out"
    assert status(services, sender=OTHER_BUSINESS) == "subscribed"
    (event,) = services.consent.events(CONTACT)
    assert (event.carrier, event.actor) == ("bandwidth", "bandwidth")


@pytest.mark.parametrize(
    ("text", "expected", "history"),
    [
        ("HELP", "subscribed", 0),  # answered (by the outbox), consent unchanged
        ("hello", "subscribed", 0),
        ("Can we stop by tomorrow?", "subscribed", 0),
    ],
)
def test_texts_that_do_not_opt_out(
    client: FlaskClient, services: Services, text: str, expected: str, history: int
) -> None:
    assert post(client, [received(text)]).status_code == 200
    assert status(services) == expected and events(services) == history


def test_start_after_stop_opts_back_in(client: FlaskClient, services: Services) -> None:
    post(client, [received("STOP")])
    assert post(client, [received("START")]).status_code == 200
    assert status(services) == "subscribed" and events(services) == 2


def test_a_review_phrase_opens_a_review(client: FlaskClient, services: Services) -> None:
    event = received("please stop texting me")
    assert post(client, [event]).status_code == 200
    (item,) = services.consent.reviews(CONTACT)
    assert (item.carrier, item.carrier_message_id) == ("bandwidth", event["message"]["id"])


def test_the_documented_inbound_example_is_accepted(
    client: FlaskClient, services: Services
) -> None:
    # dev.bandwidth.com/docs/messaging/webhooks, "Inbound SMS", with STOP as its text.
    example = {
        "type": "message-received", "time": "2016-09-14T18:20:16Z",
        "description": "Incoming message received", "to": "+12345678902",
        "message": {
            "id": "14762070468292kw2fuqty55yp2b2", "time": "2016-09-14T18:20:16Z",
            "to": ["+12345678902"], "from": "+12345678901", "text": "STOP",
            "applicationId": "93de2206-9669-4e07-948d-329f4b722ee2",
            "media": ["https://messaging.bandwidth.com/api/v2/users/1/media/x/0/bw.png"],
            "owner": "+12345678902", "direction": "in", "segmentCount": 1,
        },
    }  # fmt: skip
    assert post(client, [example]).status_code == 200
    assert status(services, "+12345678901", "+12345678902") == "opted_out"


def test_a_retried_callback_is_stored_once(client: FlaskClient, services: Services) -> None:
    # Bandwidth delivers at least once and retries for 24 h: the id makes it one text.
    callback = [received("STOP")]
    first, second = post(client, callback), post(client, callback)
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.get_data() == second.get_data() == b""
    assert events(services) == 1


def test_two_texts_in_one_callback_are_two_outcomes(
    client: FlaskClient, services: Services
) -> None:
    response = post(client, [received("STOP"), received("hello", contact=OTHER_CONTACT)])
    assert response.status_code == 200
    assert status(services) == "opted_out" and events(services) == 1
    assert status(services, OTHER_CONTACT) == "subscribed" and events(services, OTHER_CONTACT) == 0


def test_a_text_and_a_failed_send_in_one_callback(client: FlaskClient, services: Services) -> None:
    callback = [received("STOP"), outbound("message-failed", code=4775, contact=OTHER_CONTACT)]
    assert post(client, callback).status_code == 200
    assert status(services) == "opted_out"
    assert status(services, OTHER_CONTACT) == "opted_out"


@pytest.mark.parametrize(
    ("contact", "sender", "key"),
    [
        ("12065550123", BUSINESS, CONTACT),  # without "+"
        ("2065550123", BUSINESS, CONTACT),  # national form
        (CONTACT, "12345", CONTACT),  # a short code
        (CONTACT, "12065550100", CONTACT),  # the business number without "+"
    ],
)
def test_odd_numbers_are_recorded_as_sent(
    client: FlaskClient, services: Services, contact: str, sender: str, key: str
) -> None:
    assert post(client, [received("STOP", contact=contact, sender=sender)]).status_code == 200
    (event,) = services.consent.events(key)
    assert (event.contact_received, event.sender_received) == (contact, sender)


def test_a_number_the_phone_library_refuses_is_still_recorded(
    client: FlaskClient, services: Services
) -> None:
    # Bandwidth delivered it from a number that exists: a 4xx would lose this STOP for good.
    assert post(client, [received("STOP", contact="+1206001234")]).status_code == 200
    export = client.get("/v1/optouts", headers=bearer()).get_data(as_text=True)
    assert "+1206001234" in export


def test_the_owner_is_the_sender_when_the_event_has_no_to(
    client: FlaskClient, services: Services
) -> None:
    event = received("STOP")
    del event["to"]
    assert post(client, [event]).status_code == 200
    assert status(services) == "opted_out"


@pytest.mark.parametrize(
    "message_id",
    ["14762070468292kw2fuqty55yp2b2", "1593110555875xo7watq5px6rbe5d",
     "1585321273456iprz22vjeo4tvooc", "df5753b4-3c62-4d34-b8cd-8ab8d4a3745e"],
)  # fmt: skip
def test_documented_message_ids_are_accepted(
    client: FlaskClient, services: Services, message_id: str
) -> None:
    assert post(client, [received("STOP", message_id=message_id)]).status_code == 200
    assert status(services) == "opted_out"


def test_a_text_without_text_is_accepted(client: FlaskClient, services: Services) -> None:
    event = received("")
    del event["message"]["text"]  # an MMS with only media
    assert post(client, [event]).status_code == 200
    assert status(services) == "subscribed"


def test_a_number_with_letters_is_400_and_the_events_before_it_are_kept(
    client: FlaskClient, services: Services
) -> None:
    # The core refuses a number with letters; the events before it in the array were already
    # recorded, and keeping a genuine STOP is worth more than an all-or-nothing answer.
    callback = [received("STOP"), received("STOP", contact="+1 206 555 O1OO")]
    response = post(client, callback)
    assert response.status_code == 400
    assert "letters" in response.get_json()["detail"]
    assert status(services) == "opted_out" and events(services) == 1


@pytest.mark.parametrize(
    "callback",
    [[received("STOP")], [outbound("message-failed", code=4775)]],
    ids=["text", "opted-out"],
)
def test_a_ledger_failure_is_503_so_bandwidth_retries(
    settings: Settings, client: FlaskClient, callback: list[dict[str, object]]
) -> None:
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("breaks a SQLite file")
    with raw_sqlite(Path(settings.database_url.removeprefix("sqlite:///"))) as conn:
        conn.execute("DROP TABLE inbound_messages")  # where every message's answer is kept
    response = post(client, callback)
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.headers["Retry-After"].isdigit()
