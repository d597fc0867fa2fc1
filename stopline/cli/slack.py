"""`stopline slack`: the Slack bot over Socket Mode, for teams without a public URL."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING

import click

from core.config import Settings, secret_text
from stopline.cli.common import fail

if TYPE_CHECKING:
    from slack_sdk.errors import SlackApiError

log = logging.getLogger("stopline.slack")
# After the socket closes, listeners already running (an export, a respond()) get this long.
APP_TOKEN_HELP = (
    "SLACK_APP_TOKEN (the app-level token, xapp-..., with the connections:write scope: "
    "your app's Basic Information page, App-Level Tokens)"
)
BOT_TOKEN_HELP = (
    "SLACK_BOT_TOKEN (the Bot User OAuth Token, xoxb-...: your app's OAuth & Permissions page)"
)
HINTS = {
    "invalid_auth": "a token is wrong or was revoked; copy it again from your app's settings",
    "not_authed": "a token is missing",
    "not_allowed_token_type": "SLACK_APP_TOKEN must be the app-level token (xapp-...)",
    "account_inactive": "the app was uninstalled or the token revoked; reinstall it",
}


@click.command("slack")
@click.pass_obj
def slack(settings: Settings) -> None:
    """Run the Slack bot over Socket Mode (needs SLACK_APP_TOKEN and SLACK_BOT_TOKEN).

    For workspaces whose Slack cannot reach stopline over HTTPS: the bot connects out to
    Slack instead. Run it beside `stopline serve`; stop it with Ctrl-C or SIGTERM.
    """
    app_token = app_token_of(settings)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("stopline slack: %s received, stopping", signal.Signals(signum).name)
        stop.set()

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        run(settings, app_token, stop)
    finally:  # a caller in the same process (a test) gets its own handlers back
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def app_token_of(settings: Settings) -> str:
    """The app-level token, or exit 2 saying which variable to set (never a trace)."""
    app_token = secret_text(settings.slack_app_token)
    missing = [APP_TOKEN_HELP] if not app_token else []
    if not secret_text(settings.slack_bot_token):
        missing.append(BOT_TOKEN_HELP)
    if missing:
        them = "them" if len(missing) > 1 else "it"
        needs = " and ".join(missing)
        fail(f"Socket Mode needs {needs}. Set {them}, then run `stopline slack` again.", 2)
    if not app_token.startswith("xapp-"):
        fail(
            "SLACK_APP_TOKEN must be an app-level token starting with xapp- "
            "(a bot token, xoxb-..., belongs in SLACK_BOT_TOKEN).",
            2,
        )
    return app_token


def run(settings: Settings, app_token: str, stop: threading.Event) -> None:
    """Connect to Slack over Socket Mode and serve until `stop` is set; then close everything."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError, SlackClientError

    from bot import create_bolt_app
    from stopline.wiring import build_services, drain, ensure_migrated

    ensure_migrated(settings)  # "run stopline db upgrade" beats a failure on the first command
    services = build_services(settings)
    services.rules.log_evaluator()
    try:
        app = create_bolt_app(settings, services)
        base_url = app.client.base_url
        # apps.connections.open takes the app-level token, never the bot token; this client
        # asks SLACK_API_URL for the WebSocket URL like every other call.
        connections = WebClient(token=app_token, base_url=base_url, timeout=30)
        handler = SocketModeHandler(app, app_token, web_client=connections)
        try:
            try:
                who = app.client.auth_test()  # checks the bot token; names the workspace
                handler.connect()
            except SlackApiError as error:
                fail(f"Slack refused the connection at {base_url}: {_refusal(error)}")
            except (SlackClientError, OSError) as error:
                fail(f"cannot reach Slack at {base_url}: {error}. Check SLACK_API_URL.")
            log.info(
                "stopline slack: connected over Socket Mode to workspace %s as %s via %s",
                _named(who.get("team"), who.get("team_id")),
                _named(who.get("user"), who.get("user_id")),
                base_url,
            )
            while not stop.wait(1.0):
                pass
        finally:
            handler.close()
            drain(app.listener_runner.listener_executor)
    finally:
        services.close()
        log.info("stopline slack: stopped")


def _refusal(error: SlackApiError) -> str:
    """Slack's error code, with a hint for the usual mistakes."""
    code = str(error.response.get("error") or error)
    return f"{code} ({HINTS[code]})" if code in HINTS else code


def _named(name: str | None, id_: str | None) -> str:
    return f"{name} ({id_})" if name else id_ or "?"
