"""POST /v1/carrier-refusals: a sending system's synchronous "recipient opted out", recorded."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from core.errors import NotAllowed
from core.model import Actor, Source, Status
from stopline.wiring import Services
from tests.web.helpers import BUSINESS, CONTACT, OTHER_BUSINESS, bearer, new_sid

URL = "/v1/carrier-refusals"


def refusal(carrier: str = "twilio", code: Any = "21610", **extra: Any) -> dict[str, Any]:
    return {"carrier": carrier, "code": code, "phone": CONTACT, "sender": BUSINESS, **extra}


def post(client: FlaskClient, body: Any, token: str | None = "test-api-token") -> TestResponse:
    headers = bearer(token) if token else {}
    return client.post(URL, json=body, headers=headers)


@pytest.mark.parametrize(
    ("carrier", "code"),
    [("twilio", "21610"), ("twilio", 21610), ("telnyx", "40300"), ("bandwidth", 4775),
     ("plivo", "200"), ("TWILIO", " 21610 ")],
)  # fmt: skip
def test_a_known_code_is_the_contacts_own_opt_out(
    client: FlaskClient, services: Services, carrier: str, code: Any
) -> None:
    response = post(client, refusal(carrier, code))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["recorded"] == 1
    status = services.consent.status(CONTACT, BUSINESS)
    assert status.status is Status.OPTED_OUT and status.opted_out_by is Source.CONTACT
    (event,) = services.consent.events(CONTACT)
    name = carrier.strip().lower()
    assert event.actor == name and event.carrier == name
    assert event.rule == f"carrier:{name}:{str(code).strip()}"
    assert event.reason is not None and "reported by tests" in event.reason
    with pytest.raises(NotAllowed):
        services.consent.opt_in(CONTACT, BUSINESS, Actor(Source.API, "tests"))


def test_a_list_is_recorded_item_by_item(client: FlaskClient, services: Services) -> None:
    body = [refusal(), {**refusal(), "sender": OTHER_BUSINESS, "message_id": new_sid()}]
    response = post(client, body)
    assert response.status_code == 200 and response.get_json()["recorded"] == 2
    assert not services.consent.status(CONTACT, OTHER_BUSINESS).can_send


def test_the_same_message_reported_twice_is_recorded_once(
    client: FlaskClient, services: Services
) -> None:
    sid = new_sid()
    assert post(client, refusal(message_id=sid)).get_json()["recorded"] == 1
    again = post(client, refusal(message_id=sid)).get_json()
    assert again["recorded"] == 0 and again["results"][0]["duplicate"] is True
    assert len(services.consent.events(CONTACT)) == 1


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (refusal(code="30003"), ["30003", "21610"]),  # a code that is not an opt-out
        (refusal("telnyx", "10001"), ["40300"]),
        (refusal("aws"), ["twilio", "telnyx"]),  # an unknown carrier: the known ones listed
        (refusal(code=None), ["code"]),
        (refusal(code=True), ["code"]),
        ({**refusal(), "phone": "not a number"}, ["phone", "not a number"]),
        ({**refusal(), "message_id": "SM123"}, ["message_id", "32 hexadecimal"]),
        ({**refusal(), "extra": 1}, ["extra"]),
        ({"carrier": "twilio", "code": "21610", "phone": CONTACT}, ["sender"]),
        ([], ["list"]),
        ([refusal()] * 501, ["500"]),
        ("21610", ["object"]),
        ([refusal(), refusal(code="30003")], ["refusal 2 of 2", "30003"]),
    ],
)
def test_what_is_not_understood_is_a_400_and_records_nothing(
    client: FlaskClient, services: Services, body: Any, words: list[str]
) -> None:
    response = post(client, body)
    assert response.status_code == 400, response.get_json()
    detail = response.get_json()["detail"]
    assert all(w in detail for w in words), detail
    assert services.consent.events(CONTACT) == []


def test_a_token_is_required(client: FlaskClient, services: Services) -> None:
    assert post(client, refusal(), token=None).status_code == 401
    assert post(client, refusal(), token="wrong").status_code == 401
    assert services.consent.events(CONTACT) == []
