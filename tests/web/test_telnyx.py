"""The Telnyx door with real Ed25519-signed events over a real ledger: texts and statuses."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from core.config import Settings
from core.errors import NotAllowed
from core.model import Actor, InboundMessage, Source
from core.phone import carrier_number
from core.services import ConsentService
from ledger.adapter import SqlLedger
from ledger.db import Database
from stopline.wiring import Services
from tests.web.helpers import bearer
from tests.web.telnyx_helpers import (
    BUSINESS,
    CONTACT,
    HOOK,
    blocked,
    finalized,
    new_id,
    post,
    public_b64,
    received,
    sign,
)
from web import create_app


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings with the Telnyx test key's public half."""
    return settings.model_copy(update={"telnyx_public_key": public_b64()})


def _status(services: Services, contact: str = CONTACT) -> str:
    return str(services.consent.status(contact, BUSINESS).status)


def _events(services: Services, contact: str = CONTACT) -> int:
    return len(services.consent.events(contact))


def _ok(response: TestResponse) -> None:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_data() == b""  # Telnyx reads nothing in the answer


@pytest.mark.parametrize(
    ("texts", "status", "events", "reviews"),
    [
        (["STOP"], "opted_out", 1, 0),
        (["STOP", "START"], "subscribed", 2, 0),
        (["HELP"], "subscribed", 0, 0),
        (["hello"], "subscribed", 0, 0),
        (["please stop texting me"], "subscribed", 1, 1),
    ],
)
def test_texts_are_decided_by_the_rules(
    client: FlaskClient, services: Services, texts: list[str], status: str, events: int,
    reviews: int,
) -> None:  # fmt: skip
    for text in texts:
        _ok(post(client, received(text)))
    assert _status(services) == status
    assert _events(services) == events
    assert len(services.consent.reviews(CONTACT)) == reviews


def test_the_telnyx_message_id_and_carrier_are_in_the_event(
    client: FlaskClient, services: Services
) -> None:
    message_id = new_id()
    _ok(post(client, received("STOP", message_id=message_id)))
    (event,) = services.consent.events(CONTACT)
    assert event.carrier == "telnyx" and event.carrier_message_id == message_id


def test_a_retried_event_gets_the_first_answer_and_one_event(
    client: FlaskClient, services: Services
) -> None:
    message_id = new_id()
    for attempt in (1, 2, 3):
        _ok(post(client, received("STOP", message_id=message_id, attempt=attempt)))
    assert _events(services) == 1 and _status(services) == "opted_out"


@pytest.mark.parametrize(
    ("contact", "sender"),
    [("12065550123", BUSINESS), ("(206) 555-0123", BUSINESS), (CONTACT, "12345"),
     (12065550123, BUSINESS), ("+99912345", BUSINESS), ("0206 555 0123", "+4420 7946 0000")],
)  # fmt: skip
def test_odd_numbers_that_telnyx_signed_are_recorded(
    client: FlaskClient, services: Services, contact: object, sender: object
) -> None:
    # A 4xx is not retried: refusing a signed STOP for its numbers' shape would lose it.
    _ok(post(client, received("STOP", contact=contact, sender=sender)))
    # Read by the ledger's key: services.consent.events() takes only numbers it can parse.
    (event,) = services.consent.ledger.events_of(carrier_number(str(contact)).key, 10)
    assert event.contact_received == str(contact) and event.sender_received == str(sender)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"not json", "invalid_input"),
        (b"\xff\xfe{", "invalid_input"),
        (b"[1, 2]", "invalid_input"),
        (b"[" * 60_000, "invalid_input"),
        (b"{}", "missing_field"),
        (b'{"data": {"payload": {}}}', "missing_field"),
        (b'{"data": {"event_type": "message.received"}}', "missing_field"),
        (b'{"data": {"event_type": "message.received", "payload": {"id": "x"}}}',
         "not_a_carrier_delivery"),
    ],
)  # fmt: skip
def test_signed_bodies_that_are_no_delivery_are_400(
    client: FlaskClient, services: Services, body: bytes, error: str
) -> None:
    response = post(client, body)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"] == error
    assert _events(services) == 0


@pytest.mark.parametrize(
    "drop", ["id", "from", "to", "from.phone_number", "to.phone_number", "to.empty"]
)
def test_a_text_without_a_field_telnyx_always_sends_is_400(
    client: FlaskClient, services: Services, drop: str
) -> None:
    event = received("STOP")
    payload = event["data"]["payload"]
    if drop == "to.empty":
        payload["to"] = []
    elif drop.endswith(".phone_number"):
        part = payload[drop.split(".")[0]]
        del (part[0] if isinstance(part, list) else part)["phone_number"]
    else:
        del payload[drop]
    response = post(client, event)
    assert response.status_code == 400
    assert drop.split(".")[0] in response.get_json()["detail"]
    assert _status(services) == "subscribed" and _events(services) == 0


def test_repeated_json_keys_are_refused_though_signed(
    client: FlaskClient, services: Services
) -> None:
    # Telnyx writes each key once; with two "text"s, which counts would be the parser's choice.
    body = json.dumps(received("hello"))
    body = body.replace('"text": "hello"', '"text": "hello", "text": "STOP"')
    response = post(client, body.encode())
    assert response.status_code == 400
    assert "text" in response.get_json()["detail"]
    assert _events(services) == 0


@pytest.mark.parametrize("message_id", ["7ee4241c-f127-47e5-9c34-3aac291f805", "SM" + "0" * 32,
                                        "7ee4241c-f127-47e5-9c34-3aac291f8058\n", ""])  # fmt: skip
def test_ids_not_in_telnyxs_format_are_refused(
    client: FlaskClient, services: Services, message_id: str
) -> None:
    response = post(client, received("STOP", message_id=message_id))
    assert response.status_code == 400
    assert response.get_json()["error"] == "not_a_carrier_delivery"
    assert _events(services) == 0


def test_other_event_types_are_acknowledged_and_ignored(
    client: FlaskClient, services: Services
) -> None:
    _ok(post(client, {"data": {"event_type": "call.initiated", "payload": {}}}))
    _ok(post(client, finalized("sending", blocked(), event_type="message.queued")))
    assert _events(services) == 0


@pytest.mark.parametrize(
    ("event_type", "errors"),
    [
        ("message.finalized", blocked()),
        ("message.finalized", blocked(40300)),  # an int code, as some payloads have it
        ("message.sent", blocked()),
        ("message.finalized", [{"code": "40008", "title": "Undeliverable"}, *blocked()]),
        ("message.finalized", [{"title": " blocked due to STOP message "}]),  # by title alone
    ],
)
def test_the_opted_out_status_is_the_contacts_own_opt_out_once(
    client: FlaskClient, services: Services, event_type: str, errors: list[dict[str, object]]
) -> None:
    event = finalized("delivery_failed", errors, event_type=event_type)
    for attempt in (1, 2):  # a retry, then the same refusal again
        event["meta"]["attempt"] = attempt
        _ok(post(client, event))
    assert _status(services) == "opted_out"
    (found,) = services.consent.events(CONTACT)
    assert found.source == Source.CONTACT and found.carrier == "telnyx"
    assert found.carrier_message_id == event["data"]["payload"]["id"]
    assert "40300" in (found.reason or "")
    with pytest.raises(NotAllowed):
        services.consent.opt_in(CONTACT, BUSINESS, Actor(Source.AGENT, "U0AGENT"))
    assert not services.consent.status(CONTACT, BUSINESS).can_send


def test_the_opted_out_status_is_in_the_export(client: FlaskClient) -> None:
    _ok(post(client, finalized("delivery_failed", blocked())))
    export = client.get("/v1/optouts", headers=bearer("test-api-token"))
    assert export.status_code == 200
    assert CONTACT in export.get_data(as_text=True)


@pytest.mark.parametrize(
    ("event_type", "status", "errors"),
    [
        ("message.finalized", "delivered", []),
        ("message.sent", "sent", []),
        ("message.finalized", "delivery_failed", [{"code": "40001", "title": "Not routable"}]),
        ("message.finalized", "delivery_failed", [{"code": None}, "odd", {"title": 3}]),
    ],
)
def test_other_statuses_are_acknowledged_and_not_stored(
    client: FlaskClient, services: Services, event_type: str, status: str,
    errors: list[object],
) -> None:  # fmt: skip
    _ok(post(client, finalized(status, errors, event_type=event_type)))
    assert _events(services) == 0 and _status(services) == "subscribed"


def test_the_same_id_through_two_carriers_is_two_messages(services: Services) -> None:
    # Telnyx and Plivo both use UUIDs: a retry is known by (carrier, id), never the id alone.
    message_id, now = new_id(), datetime.now(UTC)
    for carrier in ("telnyx", "plivo", "telnyx"):
        text = InboundMessage(carrier, message_id, CONTACT, BUSINESS, "please stop texting me", now)
        services.consent.receive_message(text)
    assert len(services.consent.reviews(CONTACT)) == 2


def test_a_json_body_over_64_kib_is_413(client: FlaskClient, services: Services) -> None:
    response = post(client, received("x" * (65 * 1024)))
    assert response.status_code == 413
    assert _events(services) == 0


def test_a_chunked_json_body_over_the_limit_is_413(client: FlaskClient) -> None:
    body = json.dumps(received("x" * (65 * 1024))).encode()
    response = client.post(
        HOOK,
        input_stream=io.BytesIO(body),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked", "telnyx-timestamp": "1",
                 "telnyx-signature-ed25519": sign(body, "1")},
        environ_overrides={"wsgi.input_terminated": True},
    )  # fmt: skip
    assert response.status_code == 413


@pytest.mark.parametrize("event", [received("STOP"), finalized("delivery_failed", blocked())],
                         ids=["text", "opted-out status"])  # fmt: skip
def test_a_ledger_that_is_down_is_503_so_telnyx_retries(
    settings: Settings, services: Services, tmp_path: Path, event: dict[str, object]
) -> None:
    # A real ledger that cannot be opened (its directory does not exist), never a fake.
    database = Database(f"sqlite:///{tmp_path / 'missing' / 'ledger.db'}")
    consent = ConsentService(SqlLedger(database), services.rules, region=settings.default_region)
    broken = Services(settings=settings, database=database, rules=services.rules, consent=consent)
    response = post(create_app(settings, broken).test_client(), event)
    assert response.status_code == 503
    assert response.get_json()["error"] == "database_unavailable"
    database.dispose()
