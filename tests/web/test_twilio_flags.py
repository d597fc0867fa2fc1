"""Twilio's OptOutType: its Advanced Opt-Out already acted, so the ledger follows it."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from core.model import Source, Status
from stopline.wiring import Services
from tests.web.helpers import BUSINESS, CONTACT, messages, post_sms, sms


def flagged(body: str, flag: str) -> dict[str, str]:
    """An inbound form as Twilio sends it for a number in a Messaging Service with AOO on."""
    return {**sms(body), "OptOutType": flag, "MessagingServiceSid": "MG" + "1" * 32}


def test_a_flagged_stop_the_rules_miss_opts_out_and_says_both(
    client: FlaskClient, services: Services
) -> None:
    # A custom AOO keyword that rules.yml does not know: Twilio blocks the number from now on.
    replies = messages(post_sms(client, flagged("NOMORE", "STOP")))
    status = services.consent.status(CONTACT, BUSINESS)
    assert status.status is Status.OPTED_OUT and status.opted_out_by is Source.CONTACT
    (event,) = services.consent.events(CONTACT)
    assert event.rule == "carrier:twilio:STOP" and event.message_text == "NOMORE"
    assert event.reason is not None
    assert "twilio flagged this text STOP" in event.reason and "no_keyword" in event.reason
    assert len(replies) == 1 and "unsubscribed" in replies[0]  # the rules' STOP reply


def test_a_flagged_stop_the_rules_would_review_opts_out(
    client: FlaskClient, services: Services
) -> None:
    post_sms(client, flagged("please stop texting me", "STOP"))
    assert not services.consent.status(CONTACT, BUSINESS).can_send
    assert services.consent.reviews(CONTACT) == []  # decided, not left to an agent
    (event,) = services.consent.events(CONTACT)
    assert event.rule == "carrier:twilio:STOP" and event.reason and "review" in event.reason


def test_when_flag_and_rules_agree_the_rules_own_rule_is_recorded(
    client: FlaskClient, services: Services
) -> None:
    post_sms(client, flagged("STOP", "STOP"))
    (event,) = services.consent.events(CONTACT)
    assert event.rule == "opt_out" and event.reason is None


def test_a_flagged_start_counts_as_the_contacts_own_start(
    client: FlaskClient, services: Services
) -> None:
    post_sms(client, sms("STOP"))
    replies = messages(post_sms(client, flagged("UNPAUSE", "START")))
    assert services.consent.status(CONTACT, BUSINESS).can_send
    newest = services.consent.events(CONTACT)[0]
    assert newest.action == "opt_in" and newest.rule == "carrier:twilio:START"
    assert newest.source is Source.CONTACT
    assert replies and "subscribed again" in replies[0]


def test_a_flagged_start_from_a_subscribed_contact_changes_nothing(
    client: FlaskClient, services: Services
) -> None:
    post_sms(client, flagged("UNPAUSE", "START"))
    assert services.consent.events(CONTACT) == []


def test_a_flagged_help_gets_the_help_reply(client: FlaskClient, services: Services) -> None:
    replies = messages(post_sms(client, flagged("what is this", "HELP")))
    assert len(replies) == 1 and "STOP" in replies[0]
    assert services.consent.status(CONTACT, BUSINESS).can_send


@pytest.mark.parametrize("flag", ["stop", " Stop ", "STOP"])
def test_the_flag_is_read_in_any_case(client: FlaskClient, services: Services, flag: str) -> None:
    post_sms(client, flagged("NOMORE", flag))
    assert not services.consent.status(CONTACT, BUSINESS).can_send


@pytest.mark.parametrize("flag", ["", "BOGUS", "OPTOUT", "STOP STOP"])
def test_an_unknown_flag_is_ignored_and_the_rules_decide(
    client: FlaskClient, services: Services, flag: str
) -> None:
    assert post_sms(client, flagged("NOMORE", flag)).status_code == 200
    assert services.consent.status(CONTACT, BUSINESS).can_send
    post_sms(client, flagged("STOP", flag))
    assert not services.consent.status(CONTACT, BUSINESS).can_send


def test_a_retried_flagged_text_gets_the_first_answer(
    client: FlaskClient, services: Services
) -> None:
    form = flagged("NOMORE", "STOP")
    first = messages(post_sms(client, form))
    assert messages(post_sms(client, form)) == first
    assert len(services.consent.events(CONTACT)) == 1


@pytest.mark.parametrize("flag", ["START", "HELP"])
def test_a_flag_never_undoes_an_opt_out_the_rules_heard(
    client: FlaskClient, services: Services, flag: str
) -> None:
    post_sms(client, flagged("STOP", flag))
    assert not services.consent.status(CONTACT, BUSINESS).can_send
    (event,) = services.consent.events(CONTACT)
    assert event.rule == "opt_out"
