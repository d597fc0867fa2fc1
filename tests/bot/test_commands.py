"""/optout, /optin and /consent through signed requests, with the fake Slack recording answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from core.model import Action, Actor, DeliveryStatus, Source, Status
from tests.bot.conftest import MakeSlack
from tests.bot.helpers import AGENT, BOSS, TEAM, SlackDriver, ack_text, blocks_text
from tests.web.helpers import BUSINESS, OTHER_BUSINESS, post_sms, sms

CONTACT = "+12065550123"


def answer(driver: SlackDriver, count: int = 1) -> dict:
    """The last response_url post (the listener's answer after ack)."""
    return driver.fake.wait_for("respond", count)[-1].params


def test_optout_acks_at_once_then_answers_with_the_status_card(slack: SlackDriver) -> None:
    response = slack.command("/optout", "+1 206-555-0123 asked on a call")
    assert "Opting out (206) 555-0123" in ack_text(response)
    reply = answer(slack)
    assert reply["response_type"] == "ephemeral"
    text = blocks_text(reply["blocks"])
    assert "Opted out (206) 555-0123 from every number" in text
    assert "OPTED OUT of every number" in text
    assert f"<@{AGENT}>" in text and "+12065550123" in text
    status = slack.services.consent.status(CONTACT)
    assert status.status is Status.OPTED_OUT and status.opted_out_by is Source.AGENT
    [event] = slack.services.consent.events(CONTACT)
    assert event.actor == f"slack:{TEAM}:{AGENT}" and event.reason == "asked on a call"


@pytest.mark.parametrize(
    "typed",
    ["+1 206-555-0123", "(206) 555-0123", "206.555.0123", "12065550123", "2065550123",
     "+12065550123", "1 (206) 555-0123", "<tel:+12065550123|+1 206-555-0123>", "206 555 0123"],
)  # fmt: skip
def test_phone_numbers_in_the_forms_agents_paste(slack: SlackDriver, typed: str) -> None:
    slack.command("/optout", f"{typed} rude")
    answer(slack)
    assert slack.services.consent.status(CONTACT).status is Status.OPTED_OUT
    assert slack.services.consent.events(CONTACT)[0].reason == "rude"


def test_optout_for_one_sender_leaves_the_other_numbers(slack: SlackDriver) -> None:
    slack.command("/optout", "(206) 555-0123 sender=+1 206-555-0100 wrong number")
    text = blocks_text(answer(slack)["blocks"])
    assert "Opted out (206) 555-0123 from (206) 555-0100" in text
    assert slack.services.consent.can_send(CONTACT, BUSINESS) is False
    assert slack.services.consent.can_send(CONTACT, OTHER_BUSINESS) is True


def test_optout_of_an_opted_out_contact_changes_nothing(slack: SlackDriver) -> None:
    slack.command("/optout", "2065550123")
    answer(slack)
    slack.command("/optout", "2065550123")
    assert "already opted out" in answer(slack, 2)["text"]
    assert len(slack.services.consent.events(CONTACT)) == 1


@pytest.mark.parametrize(
    ("command", "text", "expected"),
    [
        ("/optout", "", "needs a phone number"),
        ("/optout", "please", "a phone number must come first"),
        ("/optout", "555-01", "is not a valid phone number"),
        ("/optout", "1-800-FLOWERS", "a phone number must come first"),
        ("/optout", "206-555-0123 sender=12", "is not one of your numbers"),
        ("/optout", "206-555-0123 snder=+12065550100", "unknown option `snder=`"),
        ("/optout", "206-555-0123 sender=", "needs a value"),
        ("/optin", "", "needs a phone number"),
        ("/optin", "206-555-0123 sender=everyone", "is not one of your numbers"),
        ("/consent", "", "needs a phone number"),
        ("/consent", "206-555-0123 extra words", "unexpected words"),
        ("/consent", "+999 12", "is not a valid phone number"),
    ],
)
def test_bad_arguments_get_usage_only_for_the_caller(
    slack: SlackDriver, command: str, text: str, expected: str
) -> None:
    response = slack.command(command, text)
    body = response.get_json(silent=True) or {}
    assert body.get("response_type", "ephemeral") == "ephemeral"  # an ack is caller-only
    said = ack_text(response)
    assert expected.lower() in said.lower()
    assert "Example:" in said and command in said
    assert slack.fake.of("respond") == []
    assert slack.services.consent.events(CONTACT) == []


def test_consent_shows_the_card_with_who_and_what_they_texted(slack: SlackDriver) -> None:
    post_sms(slack.client, sms("Stop please!", contact=CONTACT))
    response = slack.command("/consent", "(206) 555-0123")
    assert ack_text(response) == ""
    reply = answer(slack)
    text = blocks_text(reply["blocks"])
    assert "(206) 555-0123" in text and "`+12065550123`" in text
    assert "OPTED OUT of 1 sender number" in text
    assert "by the contact" in text and "“Stop please!”" in text
    assert "only the contact can undo this" in text
    actions = [b for b in reply["blocks"] if b["type"] == "actions"]
    ids = [e["action_id"] for a in actions for e in a["elements"]]
    assert ids == ["card_opt_out"]  # a contact's own opt-out: no Opt in button, even for BOSS


def test_consent_shows_an_opt_out_the_carrier_reported(slack: SlackDriver) -> None:
    refused = DeliveryStatus("twilio", "SM" + "e" * 32, CONTACT, BUSINESS, "failed", "21610",
                             datetime.now(UTC))  # fmt: skip
    assert slack.services.consent.receive_status(refused) is not None
    slack.command("/consent", "2065550123")
    text = blocks_text(answer(slack)["blocks"])
    assert "OPTED OUT of 1 sender number" in text and "rule `carrier:twilio:21610`" in text
    assert "only the contact can undo this" in text and "21610" in text


def test_consent_escapes_what_the_contact_wrote(slack: SlackDriver) -> None:
    post_sms(slack.client, sms("STOP <!channel> <@U0BOSS> &", contact=CONTACT))
    slack.command("/consent", "2065550123")
    text = blocks_text(answer(slack)["blocks"])
    assert "<!channel>" not in text and "<@U0BOSS>" not in text
    assert "&lt;!channel&gt;" in text


def test_consent_of_an_unknown_contact_says_texts_may_be_sent(slack: SlackDriver) -> None:
    slack.command("/consent", "2065550123")
    text = blocks_text(answer(slack)["blocks"])
    assert "subscribed" in text and "No opt-out or opt-in on record" in text


def test_optin_by_an_allowed_agent_lifts_an_agents_optout(slack: SlackDriver) -> None:
    slack.command("/optout", "2065550123", user=AGENT)
    answer(slack)
    response = slack.command("/optin", "(206) 555-0123 asked again", user=BOSS)
    assert "Opting (206) 555-0123 back in" in ack_text(response)
    assert "Opted (206) 555-0123 back in" in answer(slack, 2)["text"]
    assert slack.services.consent.status(CONTACT).can_send
    event = slack.services.consent.events(CONTACT)[0]
    assert (event.action, event.actor) == (Action.OPT_IN, f"slack:{TEAM}:{BOSS}")


def test_optin_of_a_contacts_own_optout_is_refused_and_recorded(slack: SlackDriver) -> None:
    post_sms(slack.client, sms("STOP", contact=CONTACT, sender=BUSINESS))
    slack.command("/optin", f"2065550123 sender={BUSINESS}", user=BOSS)
    said = answer(slack)["text"]
    assert "opted out by text, so an agent cannot opt them back in" in said
    assert "START, YES or UNSTOP" in said
    assert slack.services.consent.can_send(CONTACT, BUSINESS) is False
    refused = slack.services.consent.events(CONTACT)[0]
    assert refused.action is Action.REFUSED and refused.actor == f"slack:{TEAM}:{BOSS}"


def test_optin_all_lifts_what_agents_made_and_refuses_the_rest(slack: SlackDriver) -> None:
    consent = slack.services.consent
    post_sms(slack.client, sms("STOP", contact=CONTACT, sender=BUSINESS))
    consent.opt_out(CONTACT, OTHER_BUSINESS, Actor(Source.API, "crm"))
    slack.command("/optin", "2065550123 sender=all", user=BOSS)
    said = answer(slack)["text"]
    assert "(415) 555-0123 (+14155550123): opted back in" in said
    assert "(206) 555-0100 (+12065550100): (206) 555-0123 opted out by text" in said
    assert consent.can_send(CONTACT, OTHER_BUSINESS) and not consent.can_send(CONTACT, BUSINESS)


def test_optin_without_sender_points_to_the_sender_optouts(slack: SlackDriver) -> None:
    slack.services.consent.opt_out(CONTACT, OTHER_BUSINESS, Actor(Source.API, "crm"))
    slack.command("/optin", "2065550123", user=BOSS)
    said = answer(slack)["text"]
    assert "was not opted out of every number" in said and "sender=all" in said


def test_an_agent_not_allowed_cannot_opt_in(slack: SlackDriver) -> None:
    slack.command("/optout", "2065550123")
    answer(slack)
    slack.command("/optin", "2065550123", user=AGENT)
    said = answer(slack, 2)["text"]
    assert "Nothing was changed" in said and "STOPLINE_SLACK_OPTIN_USERS" in said
    assert slack.services.consent.status(CONTACT).status is Status.OPTED_OUT


def test_nobody_may_opt_in_when_no_one_is_configured(make_slack: MakeSlack) -> None:
    slack = make_slack(slack_optin_users=[])
    slack.services.consent.opt_out(CONTACT, None, Actor(Source.API, "crm"))
    slack.command("/optin", "2065550123", user=BOSS)
    assert "Nobody may opt contacts in from Slack yet" in answer(slack)["text"]
    assert not slack.services.consent.status(CONTACT).can_send


def test_user_group_members_may_opt_in_and_the_group_is_cached(make_slack: MakeSlack) -> None:
    slack = make_slack(slack_optin_users=[], slack_optin_usergroup="S0LEADS")
    slack.fake.usergroups["S0LEADS"] = ["ULEAD001"]
    for n in range(2):
        slack.services.consent.opt_out(CONTACT, None, Actor(Source.API, "crm"))
        slack.command("/optin", "2065550123", user="ULEAD001")
        assert "back in" in answer(slack, n + 1)["text"]
    assert len(slack.fake.of("usergroups.users.list")) == 1
    assert slack.fake.of("usergroups.users.list")[0].params["usergroup"] == "S0LEADS"
    slack.services.consent.opt_out(CONTACT, None, Actor(Source.API, "crm"))
    slack.command("/optin", "2065550123", user=AGENT)
    assert "members of <!subteam^S0LEADS>" in answer(slack, 3)["text"]


def test_a_failed_user_group_lookup_refuses(make_slack: MakeSlack) -> None:
    slack = make_slack(slack_optin_users=[], slack_optin_usergroup="S0GONE")
    slack.services.consent.opt_out(CONTACT, None, Actor(Source.API, "crm"))
    slack.command("/optin", "2065550123", user="ULEAD001")
    assert "Nothing was changed" in answer(slack)["text"]
    assert not slack.services.consent.status(CONTACT).can_send


def card_value(reply: dict, action_id: str) -> str:
    for block in reply["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                assert element["confirm"]["confirm"]["text"]
                return str(element["value"])
    raise AssertionError(f"no {action_id} button on the card")


def test_card_buttons_opt_out_then_in_and_replace_the_card(slack: SlackDriver) -> None:
    slack.command("/consent", "2065550123", user=BOSS)
    value = card_value(answer(slack), "card_opt_out")
    assert json.loads(value) == {"phone": CONTACT}
    slack.click("card_opt_out", value, user=BOSS)
    reply = answer(slack, 2)
    assert reply["replace_original"] is True
    assert not slack.services.consent.status(CONTACT).can_send
    slack.click("card_opt_in", card_value(reply, "card_opt_in"), user=BOSS)
    assert "opted back in" in answer(slack, 3)["text"]
    assert slack.services.consent.status(CONTACT).can_send


def test_card_opt_in_click_is_checked_again(slack: SlackDriver) -> None:
    slack.services.consent.opt_out(CONTACT, None, Actor(Source.API, "crm"))
    slack.click("card_opt_in", json.dumps({"phone": CONTACT, "sender": "all"}), user=AGENT)
    assert "Nothing was changed" in answer(slack)["text"]
    assert not slack.services.consent.status(CONTACT).can_send


def test_opt_in_button_only_for_agents_who_may_use_it(slack: SlackDriver) -> None:
    slack.services.consent.opt_out(CONTACT, None, Actor(Source.API, "crm"))
    slack.command("/consent", "2065550123", user=AGENT)
    ids = json.dumps(answer(slack)["blocks"])
    assert "card_opt_in" not in ids and "card_opt_out" not in ids  # already out everywhere
    slack.command("/consent", "2065550123", user=BOSS)
    assert "card_opt_in" in json.dumps(answer(slack, 2)["blocks"])


def test_a_button_with_a_forged_value_changes_nothing(slack: SlackDriver) -> None:
    slack.click("card_opt_out", "{not json", user=BOSS)
    assert "out of date" in answer(slack)["text"]


def test_commands_on_sqlite_and_postgresql(make_slack: MakeSlack, database_url: str) -> None:
    slack = make_slack(database_url=database_url)
    post_sms(slack.client, sms("STOP", contact=CONTACT, sender=BUSINESS))
    slack.command("/optout", f"2065550123 sender={OTHER_BUSINESS} asked by email")
    answer(slack)
    slack.command("/optin", "2065550123 sender=all", user=BOSS)
    said = answer(slack, 2)["text"]
    assert "opted back in" in said and "opted out by text" in said
    slack.command("/consent", "2065550123")
    text = blocks_text(answer(slack, 3)["blocks"])
    assert "OPTED OUT of 1 sender number" in text
    actions = [e.action for e in slack.services.consent.events(CONTACT)]
    assert actions == [Action.OPT_IN, Action.REFUSED, Action.OPT_OUT, Action.OPT_OUT]
