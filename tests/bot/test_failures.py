"""A failure of stopline's own in a Slack command: the agent is told to try again, no trace."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from core.services import ConsentService
from ledger.adapter import SqlLedger
from rules.errors import RulesEngineError, RulesError, RulesProblem
from stopline.wiring import build_services, close_app, wire_app
from tests.bot.conftest import MakeSlack, slack_settings
from tests.bot.fakeslack import FakeSlack
from tests.bot.helpers import SlackDriver, ack_text
from tests.web.test_error_mapping import FailingDecider


@pytest.fixture
def failing_slack(bot_database_url: str, fake_slack: FakeSlack) -> Iterator[object]:
    built: list[SlackDriver] = []

    def make(error: BaseException) -> SlackDriver:
        settings = slack_settings(bot_database_url, fake_slack)
        services = build_services(settings)
        services = replace(
            services, consent=ConsentService(SqlLedger(services.database), FailingDecider(error))
        )
        driver = SlackDriver(wire_app(settings, services), services, fake_slack)
        built.append(driver)
        return driver

    yield make
    for driver in built:
        close_app(driver.app, driver.services)


@pytest.mark.parametrize(
    "error",
    [
        RulesEngineError("durable-rules failed: action broke"),
        RulesError("rules.yml", [RulesProblem("rules.yml", 3, "keywords", "not a list")]),
    ],
    ids=lambda e: type(e).__name__,
)
@pytest.mark.parametrize(("command", "text"), [("/optout", "+1 206-555-0123 rude"),
                                               ("/optin", "+1 206-555-0123 asked")])  # fmt: skip
def test_a_rules_failure_tells_the_agent_to_try_again(
    failing_slack,
    error: BaseException,
    command: str,
    text: str,  # type: ignore[no-untyped-def]
) -> None:
    slack: SlackDriver = failing_slack(error)
    response = slack.command(command, text, user="UBOSS001")
    assert ack_text(response)  # acknowledged at once
    reply = slack.fake.wait_for("respond")[-1].params
    assert "problem on its side" in reply["text"] and "Try again" in reply["text"]
    assert "nothing was changed" in reply["text"]
    assert "Traceback" not in reply["text"]


def test_an_unexpected_error_tells_the_agent_plainly(failing_slack) -> None:  # type: ignore[no-untyped-def]
    slack: SlackDriver = failing_slack(KeyError("transition"))
    slack.command("/optout", "+1 206-555-0123 rude")
    reply = slack.fake.wait_for("respond")[-1].params
    assert "unexpected error" in reply["text"] and "trying again" in reply["text"]
    assert "KeyError" not in reply["text"] and "Traceback" not in reply["text"]


def test_a_ledger_that_is_no_database_is_told_to_the_agent(
    make_slack: MakeSlack, bot_database_url: str
) -> None:
    slack = make_slack()
    path = Path(bot_database_url.removeprefix("sqlite:///"))
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    slack.services.database.dispose()
    path.write_bytes(b"overwritten by mistake, no database any more\n" * 200)
    response = slack.command("/optout", "+1 206-555-0123 rude")
    text = ack_text(response)  # 200: Slack shows this, not "dispatch_failed"
    # Met while the pool opens the file: the ledger is unavailable, nothing was stored.
    assert "ledger is unavailable" in text and "nothing was stored" in text
    assert "try again" in text.lower() and "Traceback" not in text
