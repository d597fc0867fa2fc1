"""Signed Slack requests, sent through Flask to the mounted Bolt app like Slack sends them."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from stopline.wiring import Services
from tests.bot.fakeslack import FakeSlack

SIGNING_SECRET = "test-slack-signing-secret"
BOT_TOKEN = "xoxb-test-bot-token"
TEAM = "T0001"
AGENT = "UAGENT01"
BOSS = "UBOSS001"  # listed in STOPLINE_SLACK_OPTIN_USERS by the default settings
CHANNEL = "C0AGENTS"
NOTICES = "C0NOTICE"
EVENTS = "/slack/events"


def signature(body: bytes, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    """X-Slack-Signature (v0) for a body and timestamp."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class SlackDriver:
    """Sends what Slack would send: slash commands and button clicks, signed."""

    def __init__(
        self, app: Flask, services: Services, fake: FakeSlack, secret: str = SIGNING_SECRET
    ) -> None:
        self.app = app
        self.services = services
        self.client: FlaskClient = app.test_client()
        self.fake = fake
        self.secret = secret

    def post(
        self,
        body: bytes,
        *,
        timestamp: str | None = None,
        sign: str | None = None,
        content_type: str = "application/x-www-form-urlencoded",
    ) -> TestResponse:
        """POST a raw body to /slack/events, signed (unless `sign` gives the signature)."""
        timestamp = timestamp or str(int(time.time()))
        headers = {
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature(body, timestamp, self.secret) if sign is None else sign,
        }
        return self.client.post(EVENTS, data=body, headers=headers, content_type=content_type)

    def command_body(
        self,
        command: str,
        text: str,
        *,
        user: str = AGENT,
        team: str = TEAM,
        channel: str = CHANNEL,
        response_url: str | None = None,
    ) -> bytes:
        """The form Slack posts for a slash command."""
        form = {
            "token": "legacy-verification-token",
            "team_id": team,
            "team_domain": "acme",
            "channel_id": channel,
            "channel_name": "support",
            "user_id": user,
            "user_name": "someone-else-entirely",  # never trusted: only user_id counts
            "command": command,
            "text": text,
            "api_app_id": "A0STOPLINE",
            "is_enterprise_install": "false",
            "response_url": response_url or self.fake.response_url("cmd"),
            "trigger_id": "1337.42.abcdef",
        }
        return urlencode(form).encode()

    def command(self, command: str, text: str = "", **kwargs: Any) -> TestResponse:
        """Send a signed slash command."""
        return self.post(self.command_body(command, text, **kwargs))

    def click_body(
        self,
        action_id: str,
        value: str,
        *,
        user: str = AGENT,
        team: str = TEAM,
        channel: str = CHANNEL,
        message_ts: str = "1700000000.000100",
        blocks: list[dict[str, Any]] | None = None,
        response_url: str | None = None,
    ) -> bytes:
        """The form Slack posts for a button click in a message (block_actions)."""
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": "agent", "team_id": team},
            "api_app_id": "A0STOPLINE",
            "token": "legacy-verification-token",
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel,
                "is_ephemeral": False,
            },
            "trigger_id": "1337.42.abcdef",
            "team": {"id": team, "domain": "acme"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel, "name": "support"},
            "message": {
                "type": "message",
                "ts": message_ts,
                "text": "card",
                "blocks": blocks or [],
            },
            "response_url": response_url or self.fake.response_url("click"),
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": "actions",
                    "value": value,
                    "type": "button",
                    "action_ts": str(time.time()),
                }
            ],
        }
        return urlencode({"payload": json.dumps(payload)}).encode()

    def click(self, action_id: str, value: str, **kwargs: Any) -> TestResponse:
        """Send a signed button click."""
        return self.post(self.click_body(action_id, value, **kwargs))


def ack_text(response: TestResponse) -> str:
    """The text of a synchronous ack (the caller-only answer), "" for an empty ack."""
    assert response.status_code == 200, response.get_data(as_text=True)
    raw = response.get_data(as_text=True)
    if not raw:
        return ""
    try:
        loaded = json.loads(raw)
    except ValueError:
        return raw
    return str(loaded.get("text", "")) if isinstance(loaded, dict) else raw


def blocks_text(blocks: list[dict[str, Any]]) -> str:
    """Every text in a list of Block Kit blocks, joined, for assertions."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return "\n".join(found)
