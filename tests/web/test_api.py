"""The consent API: tokens, status, the send check, opt-outs and opt-ins, history, reviews."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from pydantic import SecretStr

from core.config import Settings
from stopline.wiring import Services
from tests.web.helpers import (
    BUSINESS,
    CONTACT,
    OTHER_BUSINESS,
    bearer,
    messages,
    post_sms,
    sms,
)
from web import create_app

STATUS_KEYS = {"phone", "sender", "status", "can_send", "opted_out_by", "scope", "since"}


@pytest.mark.parametrize(
    "headers",
    [{}, bearer("wrong"), {"Authorization": "test-api-token"}, {"Authorization": "Basic x"}],
    ids=["none", "wrong", "no-scheme", "basic"],
)
def test_without_a_valid_token_is_401(client: FlaskClient, headers: dict[str, str]) -> None:
    response = client.get(f"/v1/consent/{CONTACT}", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["error"] == "unauthorized"


def test_without_a_configured_token_the_api_is_503(settings: Settings, services: Services) -> None:
    off = settings.model_copy(update={"api_token": None, "api_tokens": {}})
    response = create_app(off, services).test_client().get(f"/v1/consent/{CONTACT}")
    assert response.status_code == 503
    assert "STOPLINE_API_TOKEN" in response.get_json()["detail"]


def test_named_tokens_are_recorded_as_the_actor(settings: Settings, services: Services) -> None:
    named = settings.model_copy(update={"api_tokens": {"crm": SecretStr("crm-secret")}})
    client = create_app(named, services).test_client()
    response = client.post("/v1/optouts", json={"phone": CONTACT}, headers=bearer("crm-secret"))
    assert response.status_code == 201
    event = client.get(f"/v1/contacts/{CONTACT}/events", headers=bearer()).get_json()["events"][0]
    assert (event["source"], event["actor"]) == ("api", "crm")


def test_status_of_a_new_contact(client: FlaskClient) -> None:
    response = client.get(f"/v1/consent/{CONTACT}?sender={BUSINESS}", headers=bearer())
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == STATUS_KEYS
    assert body["status"] == "subscribed" and body["can_send"] is True
    assert body["since"] is None and body["opted_out_by"] is None


def test_status_after_a_contact_stop(client: FlaskClient) -> None:
    post_sms(client, sms("STOP"))
    body = client.get(f"/v1/consent/{CONTACT}?sender={BUSINESS}", headers=bearer()).get_json()
    assert body["status"] == "opted_out" and body["can_send"] is False
    assert body["opted_out_by"] == "contact" and body["scope"] == "sender"
    assert body["since"].endswith("Z")
    other = client.get(f"/v1/consent/{CONTACT}?sender={OTHER_BUSINESS}", headers=bearer())
    assert other.get_json()["can_send"] is True


@pytest.mark.parametrize("path", ["/v1/consent/12345", f"/v1/consent/{CONTACT}?sender=abc"])
def test_invalid_numbers_are_400(client: FlaskClient, path: str) -> None:
    response = client.get(path, headers=bearer())
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid_phone_number" and "E.164" in body["detail"]


def test_api_opt_out_then_opt_in(client: FlaskClient) -> None:
    created = client.post(
        "/v1/optouts", json={"phone": CONTACT, "reason": "asked by phone"}, headers=bearer()
    )
    assert created.status_code == 201
    body = created.get_json()
    assert body["changed"] is True and body["status"] == "opted_out"
    assert body["scope"] == "account" and body["opted_out_by"] == "api"
    reopened = client.delete(f"/v1/optouts/{CONTACT}", headers=bearer())
    assert reopened.status_code == 200
    assert reopened.get_json()["status"] == "subscribed"


def test_api_opt_out_for_one_sender(client: FlaskClient) -> None:
    response = client.post(
        "/v1/optouts", json={"phone": CONTACT, "sender": BUSINESS}, headers=bearer()
    )
    assert response.get_json()["scope"] == "sender"
    other = client.get(f"/v1/consent/{CONTACT}?sender={OTHER_BUSINESS}", headers=bearer())
    assert other.get_json()["can_send"] is True


def test_opt_in_of_a_contacts_own_opt_out_is_403(client: FlaskClient) -> None:
    messages(post_sms(client, sms("STOP")))
    response = client.delete(f"/v1/optouts/{CONTACT}?sender={BUSINESS}", headers=bearer())
    assert response.status_code == 403
    assert response.get_json()["error"] == "not_allowed"
    status = client.get(f"/v1/consent/{CONTACT}?sender={BUSINESS}", headers=bearer())
    assert status.get_json()["status"] == "opted_out"
    events = client.get(f"/v1/contacts/{CONTACT}/events", headers=bearer()).get_json()["events"]
    assert "refused" in [event["action"] for event in events]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ([1, 2], "JSON object"),
        ({}, '"phone" is required'),
        ({"phone": 12065550123}, '"phone" must be a string'),
        ({"phone": CONTACT, "sender": ["x"]}, '"sender" must be a string'),
    ],
)
def test_opt_out_body_shape_is_checked(client: FlaskClient, body: Any, detail: str) -> None:
    response = client.post("/v1/optouts", json=body, headers=bearer())
    assert response.status_code == 400
    assert detail in response.get_json()["detail"]


def test_bad_json_is_400(client: FlaskClient) -> None:
    response = client.post(
        "/v1/optouts", data="{not json", content_type="application/json", headers=bearer()
    )
    assert response.status_code == 400
    assert response.is_json


def test_check_splits_numbers(client: FlaskClient) -> None:
    client.post("/v1/optouts", json={"phone": CONTACT}, headers=bearer())
    phones = [CONTACT, "+13125550100", "(312) 555-0100", "nonsense", 42, None]
    response = client.post(
        "/v1/consent/check", json={"sender": BUSINESS, "phones": phones}, headers=bearer()
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["suppressed"] == [CONTACT]
    assert body["sendable"] == ["+13125550100"]
    assert body["invalid"][0] == "nonsense" and len(body["invalid"]) == 3


def test_check_of_many_numbers_streams_valid_json(client: FlaskClient) -> None:
    phones = [f"+1312555{n:04d}" for n in range(25_000)]
    response = client.post(
        "/v1/consent/check", json={"sender": BUSINESS, "phones": phones}, headers=bearer()
    )
    assert response.is_streamed
    body = response.get_json()
    assert len(body["sendable"]) + len(body["invalid"]) == 25_000


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"phones": []}, '"sender" is required'),
        ({"sender": BUSINESS}, '"phones" must be a list'),
        ({"sender": BUSINESS, "phones": CONTACT}, '"phones" must be a list'),
        ("text", "JSON object"),
    ],
)
def test_check_body_shape_is_checked(client: FlaskClient, body: Any, detail: str) -> None:
    response = client.post("/v1/consent/check", json=body, headers=bearer())
    assert response.status_code == 400
    assert detail in response.get_json()["detail"]


def test_check_with_an_invalid_sender_is_400(client: FlaskClient) -> None:
    response = client.post(
        "/v1/consent/check", json={"sender": "nope", "phones": []}, headers=bearer()
    )
    assert response.status_code == 400


def test_events_show_who_did_what(client: FlaskClient) -> None:
    post_sms(client, sms("STOP"))
    response = client.get(f"/v1/contacts/{CONTACT}/events", headers=bearer())
    body = response.get_json()
    assert body["phone"] == CONTACT
    (event,) = body["events"]
    assert event["action"] == "opt_out" and event["message_text"] == "STOP"
    assert event["carrier"] == "twilio" and event["rules_version"]


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "10001"])
def test_events_limit_is_checked(client: FlaskClient, limit: str) -> None:
    response = client.get(f"/v1/contacts/{CONTACT}/events?limit={limit}", headers=bearer())
    assert response.status_code == 400


def test_reviews_list_open_items(client: FlaskClient) -> None:
    post_sms(client, sms("please stop texting me"))
    body = client.get(f"/v1/reviews?phone={CONTACT}", headers=bearer()).get_json()
    (item,) = body["reviews"]
    assert item["contact"] == CONTACT and item["status"] == "open"
    assert item["deadline"] > item["opened_at"]
    assert client.get("/v1/reviews", headers=bearer()).get_json()["reviews"] == [item]


def test_a_review_is_decided_once_and_the_api_token_is_the_actor(client: FlaskClient) -> None:
    post_sms(client, sms("please stop texting me"))
    (item,) = client.get("/v1/reviews", headers=bearer()).get_json()["reviews"]
    url = f"/v1/reviews/{item['id']}/decision"
    assert client.post(url, json={"opt_out": "yes"}, headers=bearer()).status_code == 400
    decided = client.post(url, json={"opt_out": True}, headers=bearer())
    assert decided.status_code == 200
    assert decided.get_json()["decided_by"] == "tests" and decided.get_json()["status"] == "closed"
    again = client.post(url, json={"opt_out": False}, headers=bearer())
    assert again.status_code == 409 and "tests" in again.get_json()["detail"]
    status = client.get(f"/v1/consent/{CONTACT}?sender={BUSINESS}", headers=bearer()).get_json()
    assert status["status"] == "opted_out" and status["opted_out_by"] == "contact"
    assert client.get("/v1/reviews", headers=bearer()).get_json()["reviews"] == []
    missing = client.post("/v1/reviews/999999/decision", json={"opt_out": True}, headers=bearer())
    assert missing.status_code == 404


def test_api_body_over_its_own_limit_is_413(settings: Settings, services: Services) -> None:
    small = settings.model_copy(update={"max_api_body": 1000})
    client = create_app(small, services).test_client()
    body = {"sender": BUSINESS, "phones": [CONTACT] * 100}
    response = client.post("/v1/consent/check", json=body, headers=bearer())
    assert response.status_code == 413
    assert response.get_json()["error"] == "request_entity_too_large"
    # The token is checked first: a stranger's big body is not even read.
    assert client.post("/v1/consent/check", json=body).status_code == 401


@pytest.mark.parametrize("sender", ["%2B442071838750", "+442071838750"])
def test_an_unencoded_plus_in_the_query_is_read_as_meant(client: FlaskClient, sender: str) -> None:
    response = client.get(f"/v1/consent/{CONTACT}?sender={sender}", headers=bearer())
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["sender"] == "+442071838750"


@pytest.mark.parametrize(
    ("body", "detail"),
    [(b"[" * 100_000, "too deeply"), (b"{bad json", "not valid JSON"), (b"", "not valid JSON")],
    ids=["nested", "malformed", "empty"],
)
def test_hostile_json_is_a_clear_400(client: FlaskClient, body: bytes, detail: str) -> None:
    response = client.post("/v1/consent/check", data=body, headers=bearer())
    assert response.status_code == 400
    assert detail in response.get_json()["detail"]


def test_impossible_review_id_is_404_not_500(client: FlaskClient) -> None:
    url = f"/v1/reviews/{2**63}/decision"
    response = client.post(url, json={"opt_out": True}, headers=bearer())
    assert response.status_code == 404


def test_a_get_of_the_send_check_is_405_not_a_phone_lookup(client: FlaskClient) -> None:
    response = client.get("/v1/consent/check", headers=bearer())
    assert response.status_code == 405 and response.headers["Allow"] == "POST"


@pytest.mark.parametrize("empty", ["", "  "])
def test_an_empty_configured_token_never_lets_anyone_in(
    settings: Settings, services: Services, empty: str
) -> None:
    blank = settings.model_copy(update={"api_token": None, "api_tokens": {"crm": SecretStr(empty)}})
    client = create_app(blank, services).test_client()
    for header in ("Bearer ", "Bearer", f"Bearer {empty}"):
        response = client.get(f"/v1/consent/{CONTACT}", headers={"Authorization": header})
        assert response.status_code == 503  # no usable token: the API is off, not open
