"""The review queue in Slack: a possible opt-out is posted as a card; the first agent decides."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from bot.review_cards import NOT_OPT_OUT_ACTION, OPT_OUT_ACTION
from core.config import Settings
from core.records import ReviewItem
from stopline.wiring import migrate
from tests.bot.conftest import MakeSlack
from tests.bot.helpers import AGENT, BOSS, NOTICES, TEAM, SlackDriver, ack_text, blocks_text
from tests.web.helpers import BUSINESS, CONTACT, messages, post_sms, sms

CARD_TS = "1700000000.000200"


def open_review(
    driver: SlackDriver, body: str = "please stop texting me"
) -> tuple[ReviewItem, dict[str, Any]]:
    """Text a possible opt-out; return its review item and the card posted for it."""
    assert messages(post_sms(driver.client, sms(body))) == []  # no reply until an agent decides
    (item,) = driver.services.consent.reviews(CONTACT)
    (card,) = driver.fake.wait_for("chat.postMessage")
    return item, card.params


def click(driver: SlackDriver, action: str, item: ReviewItem, user: str = AGENT) -> None:
    """Click a button of the card in the notices channel; the click is acknowledged at once."""
    response = driver.click(action, str(item.id), user=user, channel=NOTICES, message_ts=CARD_TS)
    assert ack_text(response) == ""


def closed_events(driver: SlackDriver) -> list[Any]:
    """The review_closed events in the contact's history."""
    return [e for e in driver.services.consent.events(CONTACT) if e.action == "review_closed"]


def test_a_possible_opt_out_posts_a_review_card(slack: SlackDriver) -> None:
    item, card = open_review(slack)
    assert card["channel"] == NOTICES
    shown = blocks_text(card["blocks"])
    assert "“please stop texting me”" in shown
    assert "(206) 555-0123 (+12065550123)" in shown and "(206) 555-0100 (+12065550100)" in shown
    assert f"<!date^{int(item.opened_at.timestamp())}^" in shown  # received
    assert f"<!date^{int(item.deadline.timestamp())}^" in shown  # the deadline
    assert re.search(r"\(in \d+ days\)", shown)
    assert "`please stop texting me`" in shown  # the phrase that matched
    (actions,) = [block for block in card["blocks"] if block["type"] == "actions"]
    opt_out, not_opt_out = actions["elements"]
    assert (opt_out["action_id"], opt_out["value"]) == (OPT_OUT_ACTION, str(item.id))
    assert opt_out["style"] == "danger" and opt_out["confirm"]["confirm"]["text"] == "Opt out"
    assert (not_opt_out["action_id"], not_opt_out["value"]) == (NOT_OPT_OUT_ACTION, str(item.id))
    assert "confirm" not in not_opt_out
    assert str(slack.services.consent.status(CONTACT, BUSINESS).status) == "subscribed"


def test_the_review_card_escapes_the_contact_s_words(slack: SlackDriver) -> None:
    _, card = open_review(slack, "please stop texting me <!channel> <@U0BOSS>")
    for shown in (blocks_text(card["blocks"]), card["text"]):
        assert "<!channel>" not in shown and "<@U0BOSS>" not in shown
    assert "&lt;!channel&gt; &lt;@U0BOSS&gt;" in blocks_text(card["blocks"])


def test_opt_out_click_decides_as_the_clicking_agent(slack: SlackDriver) -> None:
    item, _ = open_review(slack)
    click(slack, OPT_OUT_ACTION, item)
    (update,) = slack.fake.wait_for("chat.update")
    assert (update.params["channel"], update.params["ts"]) == (NOTICES, CARD_TS)
    shown = blocks_text(update.params["blocks"])
    assert f"Opted out* by <@{AGENT}>" in shown and "“please stop texting me”" in shown
    assert not [block for block in update.params["blocks"] if block["type"] == "actions"]
    decided = slack.services.consent.review(item.id)
    assert (decided.decision, decided.decided_by) == ("opt_out", f"slack:{TEAM}:{AGENT}")
    assert str(slack.services.consent.status(CONTACT, BUSINESS).status) == "opted_out"
    (closed,) = closed_events(slack)
    assert closed.actor == f"slack:{TEAM}:{AGENT}" and closed.source == "agent"
    assert slack.fake.of("respond") == []  # the card says it all; nothing ephemeral


def test_not_an_opt_out_click_leaves_the_contact_subscribed(slack: SlackDriver) -> None:
    item, _ = open_review(slack)
    click(slack, NOT_OPT_OUT_ACTION, item)
    (update,) = slack.fake.wait_for("chat.update")
    shown = blocks_text(update.params["blocks"])
    assert f"Not an opt-out*, decided by <@{AGENT}>" in shown
    assert not [block for block in update.params["blocks"] if block["type"] == "actions"]
    assert slack.services.consent.review(item.id).decision == "not_opt_out"
    assert str(slack.services.consent.status(CONTACT, BUSINESS).status) == "subscribed"
    assert slack.services.consent.reviews() == []


def test_a_second_agent_is_told_who_decided(slack: SlackDriver) -> None:
    item, _ = open_review(slack)
    click(slack, OPT_OUT_ACTION, item, user=AGENT)
    slack.fake.wait_for("chat.update")
    click(slack, NOT_OPT_OUT_ACTION, item, user=BOSS)
    (told,) = slack.fake.wait_for("respond")
    assert told.params["response_type"] == "ephemeral"
    assert told.params["replace_original"] is False
    assert "already decided" in told.params["text"] and f"<@{AGENT}>" in told.params["text"]
    first, second = slack.fake.wait_for("chat.update", 2)
    # The card shows the decision that counts, not the late click.
    assert blocks_text(second.params["blocks"]) == blocks_text(first.params["blocks"])
    assert f"Opted out* by <@{AGENT}>" in blocks_text(second.params["blocks"])
    assert len(closed_events(slack)) == 1
    assert str(slack.services.consent.status(CONTACT, BUSINESS).status) == "opted_out"


def test_two_agents_clicking_at_once_make_one_decision(
    make_slack: MakeSlack, database_url: str
) -> None:
    slack = make_slack(database_url=database_url)
    item, _ = open_review(slack)
    drivers = {AGENT: slack, BOSS: SlackDriver(slack.app, slack.services, slack.fake)}
    actions = {AGENT: OPT_OUT_ACTION, BOSS: NOT_OPT_OUT_ACTION}
    start = threading.Barrier(2)
    bodies = {
        user: driver.click_body(
            actions[user], str(item.id), user=user, channel=NOTICES, message_ts=CARD_TS
        )
        for user, driver in drivers.items()
    }
    statuses: list[int] = []

    def press(user: str) -> None:
        start.wait(5)
        statuses.append(drivers[user].post(bodies[user]).status_code)

    threads = [threading.Thread(target=press, args=(user,)) for user in drivers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert statuses == [200, 200]
    updates = slack.fake.wait_for("chat.update", 2)
    (told,) = slack.fake.wait_for("respond")
    assert len(closed_events(slack)) == 1
    decided = slack.services.consent.review(item.id)
    winner = decided.decided_by.rsplit(":", 1)[-1] if decided.decided_by else ""
    assert winner in drivers and f"<@{winner}>" in told.params["text"]
    assert decided.decision == ("opt_out" if winner == AGENT else "not_opt_out")
    for update in updates:  # both cards end showing the one decision that counts
        assert f"<@{winner}>" in blocks_text(update.params["blocks"])
    status = str(slack.services.consent.status(CONTACT, BUSINESS).status)
    assert status == ("opted_out" if winner == AGENT else "subscribed")


@pytest.mark.parametrize("value", ["not-a-number", "", "-3", "9" * 40])
def test_a_button_without_a_review_id_decides_nothing(slack: SlackDriver, value: str) -> None:
    assert ack_text(slack.click(OPT_OUT_ACTION, value, channel=NOTICES)) == ""
    (told,) = slack.fake.wait_for("respond")
    assert told.params["response_type"] == "ephemeral"
    assert "does not name a review item" in told.params["text"]
    assert slack.fake.of("chat.update") == []


def test_an_unknown_review_item_is_said_plainly(slack: SlackDriver) -> None:
    assert ack_text(slack.click(NOT_OPT_OUT_ACTION, "424242", channel=NOTICES)) == ""
    (told,) = slack.fake.wait_for("respond")
    assert told.params["text"] == ":warning: There is no review item 424242. Nothing was decided."
    assert slack.fake.of("chat.update") == []


def test_a_card_that_cannot_be_updated_is_replaced_through_the_response_url(
    slack: SlackDriver,
) -> None:
    item, _ = open_review(slack)
    slack.fake.answers["chat.update"] = lambda params: {"ok": False, "error": "message_not_found"}
    click(slack, OPT_OUT_ACTION, item)
    (replaced,) = slack.fake.wait_for("respond")
    assert replaced.params["replace_original"] is True
    assert f"Opted out* by <@{AGENT}>" in blocks_text(replaced.params["blocks"])
    assert slack.services.consent.review(item.id).decision == "opt_out"


def test_a_locked_ledger_decides_nothing_and_says_try_again(
    make_slack: MakeSlack, pg_schema_url: str
) -> None:
    # PostgreSQL: another transaction holds the contact's row past the lock timeout.
    migrate(Settings(database_url=pg_schema_url, _env_file=None))  # type: ignore[call-arg]
    slack = make_slack(database_url=pg_schema_url, db_busy_timeout_ms=1000)
    item, _ = open_review(slack)
    holder = create_engine(pg_schema_url)
    with holder.connect() as conn:
        conn.execute(text("SELECT phone FROM contacts WHERE phone = :p FOR UPDATE"), {"p": CONTACT})
        click(slack, OPT_OUT_ACTION, item)
        (told,) = slack.fake.wait_for("respond", timeout=15)
        conn.rollback()
    holder.dispose()
    assert "nothing was decided" in told.params["text"]
    assert told.params["response_type"] == "ephemeral"
    assert slack.services.consent.review(item.id).status == "open"
    assert slack.fake.of("chat.update") == []
    click(slack, OPT_OUT_ACTION, item)  # once the lock is gone, the same click works
    slack.fake.wait_for("chat.update")
    assert slack.services.consent.review(item.id).decision == "opt_out"
