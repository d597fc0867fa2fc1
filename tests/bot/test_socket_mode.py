"""`stopline slack`: Socket Mode against a local WebSocket server standing in for Slack.

The fake Slack's apps.connections.open returns ws://127.0.0.1:<port>; the WebSocket server
says hello, pushes slash-command envelopes and reads the acknowledgements back.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from websockets.sync.server import Server, ServerConnection, serve

from core.config import Settings
from core.model import Status
from stopline.cli.main import main
from stopline.cli.slack import run
from stopline.wiring import build_services
from tests.bot.conftest import slack_settings
from tests.bot.fakeslack import FakeSlack
from tests.bot.helpers import AGENT, BOT_TOKEN, CHANNEL, TEAM
from tests.conftest import RULES

APP_TOKEN = "xapp-1-A0STOPLINE-test-app-token"
CONTACT = "+12065550123"
ROOT = Path(__file__).resolve().parents[2]
WAIT = 10.0  # seconds for any one step; a hung step fails the test instead of the suite

pytestmark = pytest.mark.timeout(60)


class SocketModeSlack:
    """Slack's side of Socket Mode: accepts the bot's connection, pushes envelopes, reads acks."""

    def __init__(self) -> None:
        self.connections: queue.Queue[ServerConnection] = queue.Queue()
        self.received: queue.Queue[dict[str, Any]] = queue.Queue()
        self.server: Server = serve(self._session, "127.0.0.1", 0, compression=None)
        self.url = f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}/link/?ticket=test"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _session(self, connection: ServerConnection) -> None:
        connection.send(json.dumps({
            "type": "hello", "num_connections": 1,
            "connection_info": {"app_id": "A0STOPLINE"},
            "debug_info": {"host": "fake", "approximate_connection_time": 3600},
        }))  # fmt: skip
        self.connections.put(connection)
        for message in connection:  # until the bot closes the socket
            self.received.put(json.loads(message))

    def connection(self) -> ServerConnection:
        """The bot's connection, once it has connected."""
        try:
            return self.connections.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError("the bot never connected to the WebSocket server") from None

    def command(self, connection: ServerConnection, fake: FakeSlack, name: str, text: str) -> str:
        """Push a slash_commands envelope, as Slack does; return its envelope id."""
        envelope_id = str(uuid.uuid4())
        payload = {
            "token": "legacy-verification-token", "team_id": TEAM, "team_domain": "acme",
            "channel_id": CHANNEL, "channel_name": "support", "user_id": AGENT,
            "user_name": "someone-else-entirely", "command": name, "text": text,
            "api_app_id": "A0STOPLINE", "is_enterprise_install": "false",
            "response_url": fake.response_url("socket"), "trigger_id": "1337.42.abcdef",
        }  # fmt: skip
        connection.send(json.dumps({
            "envelope_id": envelope_id, "type": "slash_commands",
            "accepts_response_payload": True, "payload": payload,
        }))  # fmt: skip
        return envelope_id

    def ack(self, envelope_id: str) -> dict[str, Any]:
        """The bot's acknowledgement of one envelope."""
        while True:
            try:
                message = self.received.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError(f"no ack for envelope {envelope_id}") from None
            if message.get("envelope_id") == envelope_id:
                return message

    def close(self) -> None:
        """Stop accepting and close open connections."""
        self.server.shutdown()
        self._thread.join(WAIT)


@pytest.fixture
def socket_slack(fake_slack: FakeSlack) -> Iterator[SocketModeSlack]:
    """The WebSocket server, announced by the fake's apps.connections.open."""
    server = SocketModeSlack()
    fake_slack.ws_url = server.url
    yield server
    server.close()


def responses_to(fake: FakeSlack, count: int) -> list[dict[str, Any]]:
    """The bodies of the first `count` response_url posts, waiting for them."""
    return [call.params for call in fake.wait_for("respond", count, timeout=WAIT)]


def check_optout_and_consent(
    slack: SocketModeSlack, fake: FakeSlack, connection: ServerConnection
) -> None:
    """/consent answers with the card; /optout acks at once and responds with the card."""
    envelope = slack.command(connection, fake, "/consent", CONTACT)
    assert slack.ack(envelope) == {"envelope_id": envelope}
    card = responses_to(fake, 1)[0]
    assert "555-0123" in json.dumps(card)

    envelope = slack.command(connection, fake, "/optout", "(206) 555-0123 asked on a call")
    ack = slack.ack(envelope)
    assert ack["envelope_id"] == envelope
    assert "555-0123" in ack["payload"]["text"]
    answer = responses_to(fake, 2)[1]
    assert "Opted out" in answer["text"]


def check_ledger(settings: Settings) -> None:
    """The opt-out is in the ledger, made by the Slack agent from the signed payload."""
    services = build_services(settings)
    try:
        assert services.consent.status(CONTACT).status == Status.OPTED_OUT
        latest = services.consent.events(CONTACT, limit=1)[0]
        assert latest.actor == f"slack:{TEAM}:{AGENT}"
        assert latest.reason == "asked on a call"
    finally:
        services.close()


def test_socket_mode_in_process(
    bot_database_url: str, fake_slack: FakeSlack, socket_slack: SocketModeSlack
) -> None:
    # No signing secret: Socket Mode envelopes are not signed, and Bolt must not ask for one.
    settings = slack_settings(bot_database_url, fake_slack, slack_signing_secret=None)
    stop = threading.Event()
    failed: list[BaseException] = []

    def serve_bot() -> None:
        try:
            run(settings, APP_TOKEN, stop)
        except BaseException as error:  # reported by the test thread, not lost in this one
            failed.append(error)

    bot = threading.Thread(target=serve_bot, daemon=True)
    bot.start()
    try:
        connection = socket_slack.connection()
        check_optout_and_consent(socket_slack, fake_slack, connection)
    finally:
        stop.set()
        bot.join(WAIT + 5)
    assert not bot.is_alive(), "stopline slack did not stop"
    assert not failed, failed
    check_ledger(settings)
    # The WebSocket URL was asked for with the app-level token, the rest with the bot token.
    opened = fake_slack.of("apps.connections.open")[0]
    assert opened.headers["authorization"] == f"Bearer {APP_TOKEN}"
    assert fake_slack.of("auth.test")[0].headers["authorization"] == f"Bearer {BOT_TOKEN}"


def stopline_command() -> list[str]:
    """The venv's `stopline` script when installed, else `python -m stopline`."""
    script = Path(sys.executable).parent / "stopline"
    return [str(script)] if script.exists() else [sys.executable, "-m", "stopline"]


@pytest.mark.slow
def test_stopline_slack_command(
    tmp_path: Path, bot_database_url: str, fake_slack: FakeSlack, socket_slack: SocketModeSlack
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STOPLINE_", "SLACK_"))}
    env.update(
        STOPLINE_DATABASE_URL=bot_database_url,
        STOPLINE_RULES_PATH=str(RULES),
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=fake_slack.api_url,
        PYTHONPATH=str(ROOT),
    )
    log = tmp_path / "slack.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*stopline_command(), "slack"], cwd=tmp_path, env=env, stdout=out, stderr=out
        )
    try:
        connection = socket_slack.connection()
        check_optout_and_consent(socket_slack, fake_slack, connection)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=WAIT + 5) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
    output = log.read_text()
    assert "connected over Socket Mode to workspace T0001 as UBOT via" in output
    assert fake_slack.api_url in output
    assert "stopline slack: stopped" in output
    assert APP_TOKEN not in output and BOT_TOKEN not in output
    assert "Traceback" not in output
    check_ledger(slack_settings(bot_database_url, fake_slack))


@pytest.mark.parametrize(
    ("tokens", "says"),
    [
        ({"SLACK_BOT_TOKEN": BOT_TOKEN}, "SLACK_APP_TOKEN (the app-level token, xapp-"),
        ({"SLACK_APP_TOKEN": APP_TOKEN}, "SLACK_BOT_TOKEN (the Bot User OAuth Token"),
        ({"SLACK_APP_TOKEN": BOT_TOKEN, "SLACK_BOT_TOKEN": BOT_TOKEN}, "must be an app-level"),
    ],
    ids=["no-app-token", "no-bot-token", "bot-token-as-app-token"],
)
def test_missing_tokens_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tokens: dict[str, str], says: str
) -> None:
    monkeypatch.chdir(tmp_path)  # no developer .env
    env: dict[str, str | None] = {
        "STOPLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}",
        "STOPLINE_RULES_PATH": str(RULES),
    }
    for name in ("SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "STOPLINE_SLACK_APP_TOKEN",
                 "STOPLINE_SLACK_BOT_TOKEN"):  # fmt: skip
        env[name] = tokens.get(name)
    result = CliRunner().invoke(main, ["slack"], env=env)
    assert result.exit_code == 2, result.output
    assert says in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "none.db").exists()  # refused before touching anything


def test_refused_app_token_is_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bot_database_url: str, fake_slack: FakeSlack
) -> None:
    monkeypatch.chdir(tmp_path)
    fake_slack.answers["apps.connections.open"] = lambda _: {"ok": False, "error": "invalid_auth"}
    env = {
        "STOPLINE_DATABASE_URL": bot_database_url,
        "STOPLINE_RULES_PATH": str(RULES),
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": fake_slack.api_url,
    }
    result = CliRunner().invoke(main, ["slack"], env=env)
    assert result.exit_code == 1, result.output
    assert "Slack refused the connection" in result.stderr
    assert "invalid_auth (a token is wrong or was revoked" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
