"""Channel notices: a contact's opt-out or opt-in by text, posted off the Twilio hook's path."""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.app import build_client
from bot.notify import ChannelNotifier, build_notifier
from core.model import InboundMessage
from tests.bot.conftest import MakeSlack, slack_settings
from tests.bot.fakeslack import FakeSlack
from tests.bot.helpers import NOTICES, SlackDriver
from tests.web.helpers import BUSINESS, CONTACT, messages, post_sms, sms

CONTACT_SHOWN = "(206) 555-0123 (+12065550123)"
BUSINESS_SHOWN = "(206) 555-0100 (+12065550100)"


def drain(driver: SlackDriver) -> list[dict[str, Any]]:
    """Let the notifier post everything queued, then return what reached the channel."""
    driver.app.extensions["stopline"].notifier.close()
    return [call.params for call in driver.fake.of("chat.postMessage")]


def test_stop_by_text_posts_one_notice(slack: SlackDriver) -> None:
    assert messages(post_sms(slack.client, sms("Stop please")))
    posted = drain(slack)
    assert len(posted) == 1
    notice = posted[0]
    assert notice["channel"] == NOTICES
    assert notice["text"].startswith(":no_entry: ")
    assert f"{CONTACT_SHOWN} opted out by text to {BUSINESS_SHOWN}" in notice["text"]
    assert "“Stop please”" in notice["text"] and "rule `opt_out`" in notice["text"]
    assert notice["unfurl_links"] is False
    assert str(slack.services.consent.status(CONTACT, BUSINESS).status) == "opted_out"


def test_start_after_stop_posts_an_opt_in_notice(slack: SlackDriver) -> None:
    post_sms(slack.client, sms("STOP"))
    post_sms(slack.client, sms("START"))
    first, second = (notice["text"] for notice in drain(slack))
    assert "opted out by text" in first
    assert second.startswith(":white_check_mark: ")
    assert f"{CONTACT_SHOWN} opted back in by text to {BUSINESS_SHOWN}" in second
    assert "“START”" in second


def test_a_retried_message_sid_posts_one_notice(slack: SlackDriver) -> None:
    form = sms("STOP")
    assert messages(post_sms(slack.client, form)) == messages(post_sms(slack.client, form))
    assert len(drain(slack)) == 1


def test_texts_that_change_nothing_post_nothing(slack: SlackDriver) -> None:
    post_sms(slack.client, sms("Can we stop by tomorrow?"))  # plain text
    post_sms(slack.client, sms("HELP"))
    post_sms(slack.client, sms("START"))  # subscribed already
    post_sms(slack.client, sms("STOP"))
    post_sms(slack.client, sms("STOP"))  # opted out already
    posted = drain(slack)
    assert [notice["text"].split(" ", 1)[0] for notice in posted] == [":no_entry:"]


def test_slack_markup_in_a_text_is_escaped(slack: SlackDriver) -> None:
    post_sms(slack.client, sms("stop <!channel> <@U0BOSS> <https://evil.example|click> & co"))
    (notice,) = drain(slack)
    text = notice["text"]
    assert "<!channel>" not in text and "<@U0BOSS>" not in text and "<https://" not in text
    assert "&lt;!channel&gt; &lt;@U0BOSS&gt; &lt;https://evil.example|click&gt; &amp; co" in text


def test_an_error_from_slack_never_reaches_the_hook(
    slack: SlackDriver, caplog: pytest.LogCaptureFixture
) -> None:
    slack.fake.answers["chat.postMessage"] = lambda params: {"ok": False, "error": "not_in_channel"}
    started = time.monotonic()
    response = post_sms(slack.client, sms("STOP"))
    assert time.monotonic() - started < 2
    assert messages(response)  # the confirmation to the contact, as always
    assert len(drain(slack)) == 1  # not retried: retrying cannot fix not_in_channel
    assert "not_in_channel" in caplog.text


def test_a_slow_slack_never_delays_the_hook(slack: SlackDriver) -> None:
    release = threading.Event()

    def stuck(params: dict[str, Any]) -> dict[str, Any]:
        release.wait(10)
        return {"ok": True, "ts": "1.0"}

    slack.fake.answers["chat.postMessage"] = stuck
    started = time.monotonic()
    for _ in range(3):
        assert messages(post_sms(slack.client, sms("STOP", contact=_new_contact())))
    assert time.monotonic() - started < 3
    release.set()
    assert len(drain(slack)) == 3


def test_unreachable_slack_never_reaches_the_hook(
    make_slack: MakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    driver = make_slack(slack_api_url=f"http://127.0.0.1:{_closed_port()}/api/")
    started = time.monotonic()
    response = post_sms(driver.client, sms("STOP"))
    assert time.monotonic() - started < 2
    assert messages(response)
    notifier = driver.app.extensions["stopline"].notifier
    started = time.monotonic()
    notifier.close(timeout=1.0)  # bounded, though the worker is still backing off
    assert time.monotonic() - started < 2
    assert "could not reach Slack" in caplog.text


def test_a_rate_limited_post_is_retried(slack: SlackDriver) -> None:
    answers = iter([{"ok": False, "error": "ratelimited"}])
    slack.fake.answers["chat.postMessage"] = lambda params: next(answers, {"ok": True, "ts": "1"})
    post_sms(slack.client, sms("STOP"))
    posted = drain(slack)
    assert len(posted) == 2 and posted[0] == posted[1]


def test_a_full_queue_drops_notices_not_texts(
    slack: SlackDriver, caplog: pytest.LogCaptureFixture
) -> None:
    entered, release = threading.Event(), threading.Event()

    def stuck(params: dict[str, Any]) -> dict[str, Any]:
        entered.set()
        release.wait(10)
        return {"ok": True, "ts": "1.0"}

    slack.fake.answers["chat.postMessage"] = stuck
    consent = slack.services.consent
    notifier = ChannelNotifier(
        build_client(slack.app.extensions["stopline"].settings), NOTICES, consent, capacity=2
    )
    for index in range(5):
        message = InboundMessage("twilio", f"SM{index:032x}", _new_contact(), BUSINESS, "STOP",
                                 datetime.now(UTC))  # fmt: skip
        notifier.message_received(message, consent.receive_message(message))
        if index == 0:
            assert entered.wait(5)  # the worker holds the first; two more fit in the queue
    assert notifier.pending() == 2
    assert caplog.text.count("queue full") == 2
    release.set()
    notifier.close()
    assert len(slack.fake.of("chat.postMessage")) == 3
    assert "STOP" not in caplog.text  # logs never carry a contact's words


def test_no_channel_means_no_notifier(make_slack: MakeSlack) -> None:
    driver = make_slack(slack_channel=None)
    assert driver.app.extensions["stopline"].notifier is None
    assert messages(post_sms(driver.client, sms("STOP")))
    assert driver.fake.of("chat.postMessage") == []


def test_the_notifier_needs_a_bot_token_and_a_channel(
    bot_database_url: str, fake_slack: FakeSlack, slack: SlackDriver
) -> None:
    for overrides in ({"slack_channel": None}, {"slack_channel": ""}, {"slack_bot_token": None}):
        settings = slack_settings(bot_database_url, fake_slack, **overrides)
        assert build_notifier(settings, slack.services) is None


def test_notices_need_no_signing_secret(make_slack: MakeSlack) -> None:
    # Posting needs only the bot token: notices work even where HTTP mode is off.
    driver = make_slack(slack_signing_secret=None)
    post_sms(driver.client, sms("STOP"))
    assert len(drain(driver)) == 1


_contacts = iter(range(200, 10_000))


def _new_contact() -> str:
    return f"+1206555{next(_contacts):04d}"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
