"""Plivo's message URL with real V3-signed requests over a real ledger (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from pydantic import SecretStr

from core.config import Settings
from stopline.wiring import Services
from tests.web.helpers import bearer
from tests.web.plivo_helpers import (
    BUSINESS,
    BUSINESS_KEY,
    CONTACT,
    CONTACT_KEY,
    NONCE,
    PLIVO_TOKEN,
    post,
    replies,
    sms,
)
from web import create_app
from web.carriers import plivo


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings with Plivo's test auth token."""
    return settings.model_copy(update={"plivo_auth_token": SecretStr(PLIVO_TOKEN)})


def _status(services: Services, phone: str = CONTACT_KEY, sender: str = BUSINESS_KEY) -> str:
    return str(services.consent.status(phone, sender).status)


def _events(services: Services, phone: str = CONTACT_KEY) -> int:
    return len(services.consent.events(phone))


def test_stop_replies_in_plivo_xml_and_opts_out(client: FlaskClient, services: Services) -> None:
    [(src, dst, text)] = replies(post(client, sms("STOP", "optout")))
    # The reply goes from the business number to the contact, as Plivo wrote them.
    assert (src, dst) == (BUSINESS, CONTACT) and "unsubscribed" in text
    # Plivo's 14155550100 is the contact +14155550100.
    assert _status(services) == "opted_out"


@pytest.mark.parametrize(
    ("text", "intent", "replied", "status"),
    [
        ("HELP", "help", True, "subscribed"),
        ("hello", "", False, "subscribed"),
        ("hello", "someday-a-new-intent", False, "subscribed"),  # unknown: no flag, logged
    ],
)
def test_texts_that_do_not_opt_out(
    client: FlaskClient, services: Services, text: str, intent: str, replied: bool, status: str
) -> None:
    assert bool(replies(post(client, sms(text, intent)))) is replied
    assert _status(services) == status


def test_start_after_stop_opts_back_in(client: FlaskClient, services: Services) -> None:
    post(client, sms("STOP", "optout"))
    assert len(replies(post(client, sms("START", "optin")))) == 1
    assert _status(services) == "subscribed"


def test_a_review_phrase_opens_a_review(client: FlaskClient, services: Services) -> None:
    assert replies(post(client, sms("please stop texting me"))) == []
    [review] = services.consent.reviews(CONTACT_KEY)
    assert review.carrier == "plivo" and review.carrier_message_id is not None
    assert _status(services) == "subscribed"


def test_a_retry_gets_the_first_answer_and_one_event(
    client: FlaskClient, services: Services
) -> None:
    form = sms("STOP", "optout")
    first, second = replies(post(client, form)), replies(post(client, form))
    assert first == second and len(first) == 1
    assert _events(services) == 1
    [event] = services.consent.events(CONTACT_KEY)
    assert (event.carrier, event.carrier_message_id) == ("plivo", form["MessageUUID"])
    assert (event.contact_received, event.sender_received) == (CONTACT, BUSINESS)


def test_flagged_optout_of_words_the_rules_do_not_read_as_stop(
    client: FlaskClient, services: Services
) -> None:
    assert len(replies(post(client, sms("Please remove me", "optout")))) == 1
    assert _status(services) == "opted_out"
    [event] = services.consent.events(CONTACT_KEY)
    assert event.rule == "carrier:plivo:STOP"
    # Both readings: Plivo's flag and what rules.yml decided.
    assert event.reason is not None and "plivo flagged" in event.reason
    assert "rules.yml decided" in event.reason


def test_flagged_stop_the_rules_agree_with_keeps_the_rules_rule(
    client: FlaskClient, services: Services
) -> None:
    post(client, sms("STOP", "optout"))
    [event] = services.consent.events(CONTACT_KEY)
    assert event.rule is not None and not event.rule.startswith("carrier:")


def test_flagged_optin_after_a_stop_opts_back_in(client: FlaskClient, services: Services) -> None:
    post(client, sms("STOP", "optout"))
    post(client, sms("hello", "optin"))
    assert _status(services) == "subscribed"
    assert services.consent.events(CONTACT_KEY)[0].rule == "carrier:plivo:START"


def test_flagged_help_gets_the_help_reply(client: FlaskClient, services: Services) -> None:
    [(_, _, flagged)] = replies(post(client, sms("hello", "help")))
    [(_, _, typed)] = replies(post(client, sms("HELP")))
    assert flagged == typed and _status(services) == "subscribed"


@pytest.mark.parametrize(
    ("contact", "key"),
    [
        ("14155550100", "+14155550100"),  # Plivo's usual form
        ("+14155550100", "+14155550100"),
        ("4155550100", "+14155550100"),  # national
        ("447700900123", "+447700900123"),  # international, no '+'
        ("1206001234", "+1206001234"),  # a range the phone library does not know
    ],
)
def test_numbers_as_plivo_writes_them_are_recorded(
    client: FlaskClient, services: Services, contact: str, key: str
) -> None:
    assert len(replies(post(client, sms("STOP", "optout", contact=contact)))) == 1
    # The export shows the key (the status lookup would refuse the numbers it cannot read).
    export = client.get("/v1/optouts", headers=bearer()).get_data(as_text=True)
    assert key in export


def test_an_mms_carries_its_words_in_body(client: FlaskClient, services: Services) -> None:
    form = {**sms(""), "Type": "mms", "Body": "STOP", "MediaCount": "0"}
    del form["Text"]
    assert len(replies(post(client, form))) == 1
    assert services.consent.events(CONTACT_KEY)[0].message_text == "STOP"


def test_plivos_documented_message_uuid(client: FlaskClient, services: Services) -> None:
    # The MessageUUID of Plivo's own examples (a time-based UUID).
    form = sms("STOP", "optout", uuid="db3ce55a-7f1d-11e1-8ea7-1231380bc196")
    assert len(replies(post(client, form))) == 1 and _status(services) == "opted_out"


def test_a_short_code_business_number(client: FlaskClient, services: Services) -> None:
    [(src, _, _)] = replies(post(client, sms("STOP", "optout", sender="12345")))
    assert src == "12345" and _status(services, sender="12345") == "opted_out"


def test_replies_left_to_plivo_answer_an_empty_response(
    settings: Settings, services: Services
) -> None:
    theirs = settings.model_copy(update={"plivo_replies": "carrier"})
    client = create_app(theirs, services).test_client()
    assert replies(post(client, sms("STOP", "optout"))) == []
    assert _status(services) == "opted_out"


@pytest.mark.parametrize("text", ["ARRÊT", "停止", "СТОП"])
@pytest.mark.parametrize("sdk_bytes", [False, True], ids=["utf-8", "plivo-python"])
def test_a_stop_in_another_script_is_taken_however_plivo_hashed_it(
    client: FlaskClient, services: Services, text: str, sdk_bytes: bool
) -> None:
    form = sms(text, "optout")
    url = "http://localhost/webhooks/plivo"
    signed = plivo.signature(PLIVO_TOKEN, url, form.items(), NONCE, sdk_bytes=sdk_bytes)
    assert post(client, form, signature=signed).status_code == 200
    assert _status(services) == "opted_out"
    forged = plivo.signature("another-token", url, form.items(), NONCE, sdk_bytes=sdk_bytes)
    assert post(client, sms(text, "optout", contact="14155550111"), signature=forged
                ).status_code == 403  # fmt: skip
