"""What the Bandwidth hook refuses: wrong credentials (401), bodies no Bandwidth sends (400),
ids not in its format, oversized bodies (413); each changing nothing."""

from __future__ import annotations

import base64
import io

import pytest
from flask.testing import FlaskClient

from core.config import Settings
from stopline.wiring import Services
from tests.web.bandwidth_helpers import (
    HOOK,
    PASSWORD,
    USERNAME,
    basic,
    events,
    new_id,
    post,
    received,
    with_bandwidth,
)
from tests.web.helpers import BUSINESS, CONTACT
from web import create_app


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings with Bandwidth's callback credentials."""
    return with_bandwidth(settings)


@pytest.mark.parametrize(
    "message_id",
    ["14762070468292KW2FUQTY55YP2B2", "1476207046829", "14762070468292kw2fuqty55yp2b2x",
     "14762070468292kw2fuqty55yp2b2-2", "147620704682-2kw2fuqty55yp2b2", "", " " + new_id()],
)  # fmt: skip
def test_ids_not_in_bandwidths_format_are_400(
    client: FlaskClient, services: Services, message_id: str
) -> None:
    response = post(client, [received("STOP", message_id=message_id)])
    assert response.status_code == 400
    assert response.get_json()["error"] == "not_a_carrier_delivery"
    assert events(services) == 0


@pytest.mark.parametrize(
    "headers",
    [
        basic(password="wrong-password"),
        basic(username="someone-else"),
        basic(username=USERNAME.upper()),
        basic(password=PASSWORD + " "),
        {},  # no credentials
        {"Authorization": "Basic"},
        {"Authorization": "Basic !!!not-base64!!!"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon-here").decode()},
        {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode()},
        {"Authorization": "Basic " + base64.b64encode(b":").decode()},
        {"Authorization": "Bearer " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()},
        {"Authorization": "Basic ÿÿÿÿ"},
    ],
)
def test_missing_wrong_or_garbled_credentials_are_401(
    client: FlaskClient, services: Services, headers: dict[str, str]
) -> None:
    response = post(client, [received("STOP")], headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="stopline"'
    assert response.get_json()["error"] == "invalid_credentials"
    assert events(services) == 0


def test_the_basic_scheme_name_is_case_insensitive(client: FlaskClient, services: Services) -> None:
    headers = {"Authorization": basic()["Authorization"].replace("Basic", "basic")}
    assert post(client, [received("STOP")], headers=headers).status_code == 200


@pytest.mark.parametrize("unset", ["bandwidth_callback_username", "bandwidth_callback_password"])
def test_without_credentials_set_the_hook_is_503(
    settings: Settings, services: Services, unset: str
) -> None:
    off = settings.model_copy(update={unset: None})
    response = post(create_app(off, services).test_client(), [received("STOP")])
    assert response.status_code == 503
    assert unset.upper() in response.get_json()["detail"]
    assert events(services) == 0


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"STOP", "not valid JSON"),
        (b'{"type": "message-received"}', "a JSON dict"),
        (b"[]", "an empty array"),
        (b'["message-received"]', "JSON object"),
        (b"\xff\xfe[]", "not valid JSON"),
        (b"[" * 32_000 + b"]" * 32_000, "not valid JSON"),  # too deep for 3.11 to 3.13 alike
        (b'[{"type": "message-failed", "errorCode": NaN}]', "not valid JSON"),
    ],
)
def test_bodies_that_are_not_an_array_of_events_are_400(
    client: FlaskClient, services: Services, body: bytes, why: str
) -> None:
    response = client.post(HOOK, data=body, content_type="application/json", headers=basic())
    assert response.status_code == 400
    assert why in response.get_json()["detail"]
    # The credentials come first: the same body without them tells nothing about it.
    unchecked = client.post(HOOK, data=body, content_type="application/json")
    assert unchecked.status_code == 401


def _without(path: str) -> list[dict[str, object]]:
    event = received("STOP")
    where, _, name = path.rpartition(".")
    del (event["message"] if where else event)[name]
    return [event]


@pytest.mark.parametrize(
    ("callback", "field"),
    [
        (_without("message.id"), "message.id"),
        (_without("message.from"), "message.from"),
        (_without("message"), "message object"),
        (_without("type"), "type"),
        ([{**received("STOP"), "to": 12065550100}], "to"),
        ([received("STOP", contact="")], "message.from"),
        ([received("STOP"), {"type": "message-received"}], "event 1"),
    ],
)
def test_events_without_the_needed_fields_are_400_and_store_nothing(
    client: FlaskClient, services: Services, callback: list[dict[str, object]], field: str
) -> None:
    response = post(client, callback)
    assert response.status_code == 400
    assert field in response.get_json()["detail"]
    assert events(services) == 0  # not even the well-formed first event


def test_a_repeated_key_is_400(client: FlaskClient, services: Services) -> None:
    # Which "text" counts would be the sender's choice; Bandwidth writes each key once.
    body = (
        f'[{{"type":"message-received","to":"{BUSINESS}","message":{{"id":"{new_id()}",'
        f'"from":"{CONTACT}","text":"hello","text":"STOP"}}}}]'
    ).encode()
    response = client.post(HOOK, data=body, content_type="application/json", headers=basic())
    assert response.status_code == 400 and "repeated key" in response.get_json()["detail"]
    assert events(services) == 0


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_64_kib_is_413(client: FlaskClient, services: Services, chunked: bool) -> None:
    body = b'[{"type":"message-received","message":{"text":"' + b"x" * (65 * 1024) + b'"}}]'
    if chunked:  # no Content-Length: the cap on the stream itself must stop it
        response = client.post(
            HOOK, input_stream=io.BytesIO(body), content_type="application/json",
            headers={"Transfer-Encoding": "chunked", **basic()},
            environ_overrides={"wsgi.input_terminated": True},
        )  # fmt: skip
    else:
        response = client.post(HOOK, data=body, content_type="application/json", headers=basic())
    assert response.status_code == 413
    assert events(services) == 0


def test_get_on_the_hook_is_405(client: FlaskClient) -> None:
    response = client.get(HOOK, headers=basic())
    assert response.status_code == 405 and "POST" in response.headers["Allow"]
