"""Plivo's status callbacks: error 200 (the recipient opted out) is their own opt-out, once."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from pydantic import SecretStr

from core.config import Settings
from core.errors import NotAllowed
from core.model import Actor, Source
from stopline.wiring import Services
from tests.web.helpers import bearer
from tests.web.plivo_helpers import (
    BUSINESS_KEY,
    CONTACT_KEY,
    PLIVO_TOKEN,
    STATUS_HOOK,
    new_uuid,
    post,
    replies,
    sign,
    status,
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings with Plivo's test auth token."""
    return settings.model_copy(update={"plivo_auth_token": SecretStr(PLIVO_TOKEN)})


def _post(client: FlaskClient, form: dict[str, str]) -> list[tuple[str, str, str]]:
    # A status callback is answered 200 with an empty <Response/>.
    return replies(post(client, form, STATUS_HOOK))


def test_error_200_is_the_contacts_own_opt_out_recorded_once(
    client: FlaskClient, services: Services
) -> None:
    form = status("failed", "200")
    assert _post(client, form) == [] and _post(client, form) == []  # Plivo retried
    [event] = services.consent.events(CONTACT_KEY)
    assert (event.carrier, event.carrier_message_id) == ("plivo", form["MessageUUID"])
    assert event.rule == "carrier:plivo:200" and event.source is Source.CONTACT
    assert event.reason is not None and "error 200" in event.reason
    found = services.consent.status(CONTACT_KEY, BUSINESS_KEY)
    assert found.status == "opted_out" and found.opted_out_by is Source.CONTACT


def test_a_second_refused_message_changes_nothing_more(
    client: FlaskClient, services: Services
) -> None:
    _post(client, status("failed", "200"))
    _post(client, status("undelivered", "200"))
    actions = [e.action for e in services.consent.events(CONTACT_KEY)]
    assert actions.count("opt_out") == 1


def test_agents_cannot_opt_them_back_in(client: FlaskClient, services: Services) -> None:
    _post(client, status("failed", "200"))
    with pytest.raises(NotAllowed):
        services.consent.opt_in(CONTACT_KEY, BUSINESS_KEY, Actor(Source.AGENT, "U123"), "asked")
    assert not services.consent.can_send(CONTACT_KEY, BUSINESS_KEY)


def test_the_opt_out_is_in_the_export(client: FlaskClient) -> None:
    form = status("failed", "200")
    _post(client, form)
    export = client.get("/v1/optouts", headers=bearer())
    assert export.status_code == 200
    text = export.get_data(as_text=True)
    assert CONTACT_KEY in text and "plivo" in text


@pytest.mark.parametrize(
    ("state", "code"),
    [("queued", ""), ("sent", ""), ("delivered", ""), ("failed", "300"), ("undelivered", "30"),
     ("undelivered", ""), ("rejected", "450"), ("failed", " ")],
)  # fmt: skip
def test_other_statuses_are_acknowledged_and_not_stored(
    client: FlaskClient, services: Services, state: str, code: str
) -> None:
    assert _post(client, status(state, code)) == []
    assert services.consent.events(CONTACT_KEY) == []
    assert services.consent.can_send(CONTACT_KEY, BUSINESS_KEY)


@pytest.mark.parametrize("parent", ["same", "other", "absent", "blank"])
def test_parent_message_uuid_as_plivo_sends_it(
    client: FlaskClient, services: Services, parent: str
) -> None:
    # Run together, "ParentMessageUUID<id>" reads as "MessageUUID<id>": not a re-split.
    form = status("failed", "200")
    if parent == "other":
        form["ParentMessageUUID"] = new_uuid()
    elif parent == "absent":
        del form["ParentMessageUUID"]
    elif parent == "blank":
        form["ParentMessageUUID"] = ""
    assert _post(client, form) == []
    assert not services.consent.can_send(CONTACT_KEY, BUSINESS_KEY)


def test_an_id_hidden_after_parent_message_uuid_is_still_400(
    client: FlaskClient, services: Services
) -> None:
    # Only ParentMessageUUID's whole value is exempt: another id behind it is not.
    form = status("failed", "200")
    form["ParentMessageUUID"] = f"{form['MessageUUID']}MessageUUID{new_uuid()}"
    assert post(client, form, STATUS_HOOK).status_code == 400
    assert services.consent.events(CONTACT_KEY) == []


@pytest.mark.parametrize(
    ("contact", "sender"),
    [("14155550100", "14155550199"), ("+14155550100", "14155550199"),
     ("4155550100", "12345"), ("14155550100", "+14155550199")],
)  # fmt: skip
def test_numbers_as_plivo_writes_them(
    client: FlaskClient, services: Services, contact: str, sender: str
) -> None:
    assert _post(client, status("failed", "200", contact=contact, sender=sender)) == []
    [event] = services.consent.events(CONTACT_KEY)
    assert (event.contact_received, event.sender_received) == (contact, sender)


def test_a_forged_status_is_403_and_changes_nothing(
    client: FlaskClient, services: Services
) -> None:
    form = status("failed", "200")
    forged = sign(form, "http://localhost" + STATUS_HOOK, token="not-the-token")
    assert post(client, form, STATUS_HOOK, signature=forged).status_code == 403
    assert services.consent.events(CONTACT_KEY) == []
