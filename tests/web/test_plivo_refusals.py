"""What Plivo's doors refuse: bad signatures (403), forms Plivo never sends (400), big bodies."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient
from pydantic import SecretStr
from werkzeug.datastructures import MultiDict

from core.config import Settings
from stopline.wiring import Services
from tests.rawsqlite import raw_sqlite
from tests.web.plivo_helpers import (
    BASE,
    BUSINESS_KEY,
    CONTACT_KEY,
    HOOK,
    NONCE,
    PLIVO_TOKEN,
    STATUS_HOOK,
    new_uuid,
    post,
    replies,
    sign,
    sms,
    status,
    v3_headers,
)
from web import create_app


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings with Plivo's test auth token."""
    return settings.model_copy(update={"plivo_auth_token": SecretStr(PLIVO_TOKEN)})


def _events(services: Services) -> int:
    return len(services.consent.events(CONTACT_KEY))


def _refused(response_status: int, services: Services, status: int = 403) -> None:
    assert response_status == status
    assert _events(services) == 0
    assert services.consent.status(CONTACT_KEY, BUSINESS_KEY).can_send


def test_the_ma_v3_header_names_are_accepted(client: FlaskClient, services: Services) -> None:
    assert len(replies(post(client, sms("STOP", "optout"), ma=True))) == 1
    assert not services.consent.status(CONTACT_KEY, BUSINESS_KEY).can_send


def test_both_header_pairs_each_with_its_own_nonce(client: FlaskClient, services: Services) -> None:
    form = sms("STOP", "optout")
    headers = {
        "X-Plivo-Signature-V3": sign(form, BASE + HOOK, nonce="1111"),
        "X-Plivo-Signature-V3-Nonce": "2222",  # a V3 pair that does not match
        "X-Plivo-Signature-MA-V3": sign(form, BASE + HOOK, nonce="3333"),
        "X-Plivo-Signature-MA-V3-Nonce": "3333",
    }
    assert len(replies(client.post(HOOK, data=form, headers=headers))) == 1


def test_several_signatures_one_of_them_valid(client: FlaskClient, services: Services) -> None:
    form = sms("STOP", "optout")
    both = f"{sign(form, BASE + HOOK, token='an-older-token')},{sign(form, BASE + HOOK)}"
    assert len(replies(post(client, form, signature=both))) == 1


@pytest.mark.parametrize(
    "case",
    ["forged", "unsigned", "no nonce", "nonce changed", "text changed", "field added",
     "other url", "status door"],
)  # fmt: skip
def test_a_request_plivo_did_not_sign_is_403(
    client: FlaskClient, services: Services, case: str
) -> None:
    form = sms("STOP", "optout")
    good = sign(form, BASE + HOOK)
    if case == "forged":
        response = post(client, form, signature=sign(form, BASE + HOOK, token="not-the-token"))
    elif case == "unsigned":
        response = post(client, form, signed=False)
    elif case == "no nonce":
        response = client.post(HOOK, data=form, headers={"X-Plivo-Signature-V3": good})
    elif case == "nonce changed":
        response = post(client, form, signature=good, nonce=NONCE[::-1])
    elif case == "text changed":
        response = post(client, {**sms("hello"), "MessageUUID": form["MessageUUID"]},
                        signature=good)  # fmt: skip
    elif case == "field added":
        response = post(client, {**form, "Extra": "1"}, signature=good)
    elif case == "other url":
        response = post(client, form, signature=sign(form, "https://localhost" + HOOK))
    else:  # signed for the message URL, sent to the status URL
        response = post(client, form, STATUS_HOOK, signature=good)
    _refused(response.status_code, services)
    assert response.get_json()["error"] == "invalid_signature"


def test_without_an_auth_token_the_doors_are_503(settings: Settings, services: Services) -> None:
    off = settings.model_copy(update={"plivo_auth_token": None})
    client = create_app(off, services).test_client()
    for hook in (HOOK, STATUS_HOOK):
        response = post(client, sms("STOP", "optout"), hook)
        assert response.status_code == 503
        assert "PLIVO_AUTH_TOKEN" in response.get_json()["detail"]
    assert _events(services) == 0


def test_behind_a_proxy_the_public_url_is_what_is_signed(
    settings: Settings, services: Services
) -> None:
    public = "https://sms.example.com"
    behind = settings.model_copy(update={"public_url": public + "/"})
    client = create_app(behind, services).test_client()
    form = sms("STOP", "optout")
    assert post(client, form).status_code == 403  # signed for the local URL
    url = HOOK + "?b=2&a=1"
    assert len(replies(client.post(url, data=form, headers=v3_headers(form, public + url)))) == 1


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"MessageUUID": None}, "not_a_carrier_delivery"),
        ({"MessageUUID": "SM" + "0" * 32}, "not_a_carrier_delivery"),
        ({"MessageUUID": new_uuid() + "x"}, "not_a_carrier_delivery"),
        ({"From": None}, "missing_field"),
        ({"To": ""}, "missing_field"),
    ],
)
def test_a_signed_form_plivo_would_not_send_is_400(
    client: FlaskClient, services: Services, change: dict[str, str | None], error: str
) -> None:
    form = {k: v for k, v in {**sms("STOP", "optout"), **change}.items() if v is not None}
    response = post(client, form)
    _refused(response.status_code, services, 400)
    assert response.get_json()["error"] == error


def test_a_repeated_field_is_400_though_signed(client: FlaskClient, services: Services) -> None:
    # Plivo signs a name's values sorted, not in order: which Text counts would be the sender's.
    form = MultiDict([*sms("hello").items(), ("Text", "STOP")])
    response = post(client, form)
    _refused(response.status_code, services, 400)
    assert "Text" in response.get_json()["detail"]


@pytest.mark.parametrize(
    ("field", "accepted"),
    [("MessageIntent", False), ("PowerpackUUID", False), ("TotalRate", False), ("Text", True)],
)
def test_another_id_in_the_signed_string_is_400_outside_the_text(
    client: FlaskClient, services: Services, field: str, accepted: bool
) -> None:
    # What a re-split leaves behind: the captured "MessageUUID<old id>" inside another field,
    # the signature unchanged and a new id carved out. Only the contact's own words may hold it.
    form = {**sms("STOP", "optout"), field: f"optoutMessageUUID{new_uuid()}"}
    response = post(client, form)
    if accepted:
        assert response.status_code == 200
    else:
        _refused(response.status_code, services, 400)
        assert "outside its own field" in response.get_json()["detail"]


@pytest.mark.parametrize("hook", [HOOK, STATUS_HOOK])
@pytest.mark.parametrize("kind", ["form", "json"])
def test_a_body_over_64_kib_is_413(
    client: FlaskClient, services: Services, hook: str, kind: str
) -> None:
    form = sms("x" * (65 * 1024))
    headers = v3_headers(form, BASE + hook)
    if kind == "form":
        response = client.post(hook, data=form, headers=headers)
    else:
        response = client.post(hook, data=json.dumps(form), headers=headers,
                               content_type="application/json")  # fmt: skip
    assert response.status_code == 413
    assert response.get_json()["error"] == "request_entity_too_large"
    assert _events(services) == 0


def test_a_broken_ledger_is_503_so_plivo_retries(settings: Settings, client: FlaskClient) -> None:
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("breaks a SQLite file")
    with raw_sqlite(settings.database_url.removeprefix("sqlite:///")) as conn:
        conn.execute("DROP TABLE inbound_messages")
    for form, hook in ((sms("STOP", "optout"), HOOK), (status("failed", "200"), STATUS_HOOK)):
        response = post(client, form, hook)
        assert response.status_code == 503, response.get_data(as_text=True)
        assert response.headers["Retry-After"].isdigit()
