"""START from a contact who was never opted out, through the signed hook and the real ledger."""

from __future__ import annotations

from flask.testing import FlaskClient

from stopline.wiring import Services
from tests.web.helpers import BUSINESS, CONTACT, messages, post_sms, sms

ALREADY_EN = "You are already subscribed. Reply STOP to unsubscribe, HELP for help."
ALREADY_ES = "Ya estás suscrito. Responde ALTO para cancelar, AYUDA para ayuda."


def test_start_when_subscribed_answers_the_reply_and_stores_no_consent_change(
    client: FlaskClient, services: Services
) -> None:
    form = sms("START")
    assert messages(post_sms(client, form)) == [ALREADY_EN]
    status = services.consent.status(CONTACT, BUSINESS)
    assert status.can_send and status.scopes == ()  # no consent row was made
    assert services.consent.events(CONTACT) == []  # and no event
    # A carrier's retry of the same message gets the same answer, and still stores nothing.
    assert messages(post_sms(client, form)) == [ALREADY_EN]
    assert services.consent.events(CONTACT) == []


def test_start_after_a_stop_confirms_once_then_says_already_subscribed(
    client: FlaskClient, services: Services
) -> None:
    post_sms(client, sms("STOP"))
    (confirmation,) = messages(post_sms(client, sms("START")))
    assert confirmation != ALREADY_EN
    assert messages(post_sms(client, sms("VOLVER"))) == [ALREADY_ES]
    actions = [str(event.action) for event in services.consent.events(CONTACT)]
    assert actions == ["opt_in", "opt_out"]  # newest first: the second START added nothing
