"""Bot fixtures: a fake Slack on 127.0.0.1, a migrated ledger, the Flask app with Bolt mounted."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from core.config import Settings
from stopline.wiring import build_services, close_app, migrate, wire_app
from tests.bot.fakeslack import FakeSlack
from tests.bot.helpers import BOSS, BOT_TOKEN, NOTICES, SIGNING_SECRET, SlackDriver
from tests.conftest import RULES


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A fake Slack Web API server (and response_url and upload target)."""
    fake = FakeSlack()
    yield fake
    fake.close()


@pytest.fixture
def bot_database_url(tmp_path: Path) -> str:
    """A migrated SQLite ledger (tests that need PostgreSQL too use `database_url`)."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    migrate(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    return url


def slack_settings(database_url: str, fake: FakeSlack, **overrides: Any) -> Settings:
    """Settings with Slack on, pointed at the fake; overrides win."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "rules_path": RULES,
        "twilio_auth_token": "test-twilio-token",
        "api_token": "test-api-token",
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": fake.api_url,
        "slack_optin_users": [BOSS],
        "slack_channel": NOTICES,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


MakeSlack = Callable[..., SlackDriver]


@pytest.fixture
def make_slack(bot_database_url: str, fake_slack: FakeSlack) -> Iterator[MakeSlack]:
    """Build the app with some settings changed and return a driver for it."""
    built: list[SlackDriver] = []

    def make(database_url: str | None = None, **overrides: Any) -> SlackDriver:
        settings = slack_settings(database_url or bot_database_url, fake_slack, **overrides)
        services = build_services(settings)
        app = wire_app(settings, services)
        driver = SlackDriver(app, services, fake_slack)
        built.append(driver)
        return driver

    yield make
    for driver in built:
        close_app(driver.app, driver.services)


@pytest.fixture
def slack(make_slack: MakeSlack) -> SlackDriver:
    """The default app: Slack on, BOSS may opt in, notices go to NOTICES."""
    return make_slack()
