"""The Bolt app factory: settings and services in, a Bolt app with every listener out."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot import actions, commands
from bot.context import BotContext
from bot.permissions import OptinPolicy
from core.config import Settings
from core.doors import DoorServices

log = logging.getLogger(__name__)


def build_client(settings: Settings) -> WebClient:
    """A Web API client with the bot token, talking to SLACK_API_URL (Slack, a proxy, a fake)."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    base_url = settings.slack_api_url.rstrip("/") + "/"
    return WebClient(token=token, base_url=base_url, timeout=30)


def create_bolt_app(
    settings: Settings, services: DoorServices, client: WebClient | None = None
) -> App:
    """Build the Bolt app; nothing talks to Slack until the first request."""
    client = client or build_client(settings)
    secret = settings.slack_signing_secret
    logger = logging.getLogger("stopline.slack")
    if not any(isinstance(f, _TokenFromEnvironment) for f in logger.filters):
        logger.addFilter(_TokenFromEnvironment())
    app = App(
        client=client,
        signing_secret=secret.get_secret_value() if secret else "",
        # auth.test is called lazily on the first request instead of here, so start-up
        # works without reaching Slack.
        token_verification_enabled=False,
        logger=logger,
    )
    ctx = BotContext(settings, services.consent, OptinPolicy(settings, client))
    if settings.slack_teams:
        app.use(_served_teams(frozenset(settings.slack_teams)))
    app.error(_unexpected)
    commands.register(app, ctx)
    actions.register(app, ctx)
    return app


class _TokenFromEnvironment(logging.Filter):
    """Drops Bolt's start-up warning that SLACK_BOT_TOKEN is unused: the client carries it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def _served_teams(teams: frozenset[str]) -> Callable[..., Any]:
    def only_served_teams(body: dict[str, Any], context: Any, ack: Any, next: Any) -> Any:
        team = context.team_id or (body.get("team") or {}).get("id") or body.get("team_id")
        enterprise = context.enterprise_id
        if team in teams or (enterprise and enterprise in teams):
            return next()
        log.warning("refused a Slack request from workspace %s (not in STOPLINE_SLACK_TEAMS)", team)
        return ack(text="This Slack workspace is not served by this stopline.")

    return only_served_teams


def _unexpected(error: Exception, body: dict[str, Any], respond: Any, logger: Any) -> None:
    """Anything a listener did not expect: logged with its trace, told to the agent plainly."""
    logger.error("Slack listener failed: %s", error, exc_info=error)
    if body.get("response_url"):
        try:
            respond(
                text=":warning: stopline hit an unexpected error and logged it. "
                "Check the contact's status with /consent before trying again.",
                response_type="ephemeral",
                replace_original=False,
            )
        except Exception:  # reporting an error must never raise another
            logger.exception("could not tell the agent about the error")
