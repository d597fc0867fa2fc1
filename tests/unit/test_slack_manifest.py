"""The shipped slack-manifest.yml: the four commands, interactivity and scopes on one URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
EVENTS_URL = "https://stopline.example.com/slack/events"
COMMANDS = {"/optout", "/optin", "/consent", "/optout-export"}
SCOPES = {
    "commands", "chat:write", "files:write", "usergroups:read", "users:read",
    # /optout-export: conversations.open for the direct message, conversations.info to refuse
    # channels shared with other workspaces (each kind of conversation needs its own scope).
    "im:write", "channels:read", "groups:read", "im:read", "mpim:read",
}  # fmt: skip


def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "slack-manifest.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_the_four_commands_post_to_slack_events() -> None:
    commands = manifest()["features"]["slash_commands"]
    assert {c["command"] for c in commands} == COMMANDS
    for command in commands:
        assert command["url"] == EVENTS_URL, command["command"]
        assert command["url"].endswith("/slack/events")
        assert command["description"] and command["usage_hint"]


def test_interactivity_shares_the_url() -> None:
    interactivity = manifest()["settings"]["interactivity"]
    assert interactivity == {"is_enabled": True, "request_url": EVENTS_URL}


def test_bot_scopes() -> None:
    assert set(manifest()["oauth_config"]["scopes"]["bot"]) == SCOPES


def test_app_settings() -> None:
    loaded = manifest()
    assert loaded["display_information"]["name"] == "stopline"
    assert len(loaded["display_information"]["description"]) <= 140  # Slack's limit
    assert loaded["features"]["bot_user"]["display_name"] == "stopline"
    settings = loaded["settings"]
    assert settings["socket_mode_enabled"] is False  # HTTP mode; `stopline slack` flips it
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False


def test_the_export_command_says_where_the_file_goes() -> None:
    commands = manifest()["features"]["slash_commands"]
    (export,) = [c for c in commands if c["command"] == "/optout-export"]
    assert "direct message" in export["description"]
    assert "to=channel" in export["usage_hint"]
    assert len(export["description"]) <= 100  # Slack's limit for a command's description
