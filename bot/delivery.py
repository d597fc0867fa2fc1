"""Where an export goes: the requester's direct message with the bot, or a channel not shared.

The opted-out list (phones, contacts' own words, agents' reasons) goes to the agent who asked,
privately, unless they ask for the channel. A channel shared with another workspace (Slack
Connect, an Enterprise Grid org-wide channel, or an invitation still pending) never gets it,
and when Slack cannot say whether the channel is shared, it is treated as shared.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger(__name__)
SHARED_FLAGS = ("is_ext_shared", "is_shared", "is_org_shared", "is_pending_ext_shared")
_INSTEAD = "Leave out `to=channel` to get the file in a direct message from stopline."


@dataclass(frozen=True)
class Destination:
    """A conversation to upload into, and how agents read it."""

    channel_id: str
    private: bool  # the requester's direct message with the bot

    def words(self) -> str:
        """Where the file went, for the log."""
        kind = "direct message" if self.private else "channel"
        return f"{kind} {self.channel_id}"


class NotDelivered(Exception):
    """The export may not, or cannot, go where it was asked to; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def direct_message(client: WebClient, user_id: str) -> Destination:
    """The bot's direct message with the user (conversations.open, scope im:write)."""
    try:
        answer = client.conversations_open(users=user_id)
    except SlackApiError as exc:
        raise NotDelivered(
            f"stopline could not open a direct message with you ({_slack_error(exc)}). "
            "Ask a Slack admin to reinstall the app from slack-manifest.yml (it needs im:write)."
        ) from exc
    except (SlackClientError, OSError) as exc:
        raise NotDelivered(f"Slack could not be reached ({exc}). Try again later.") from exc
    channel = answer.get("channel")
    channel_id = channel.get("id") if isinstance(channel, dict) else None
    if not isinstance(channel_id, str) or not channel_id:
        raise NotDelivered("Slack did not say which direct message to use. Try again later.")
    return Destination(channel_id, private=True)


def unshared_channel(client: WebClient, channel_id: str) -> Destination:
    """The command's channel, if Slack says it is not shared with another workspace."""
    try:
        answer = client.conversations_info(channel=channel_id)
    except (SlackApiError, SlackClientError, OSError) as exc:
        # Fail closed: a channel nobody can vouch for may be shared.
        error = _slack_error(exc) if isinstance(exc, SlackApiError) else "no answer"
        log.warning("conversations.info failed for %s: %s", channel_id, exc)
        raise NotDelivered(
            f"stopline could not check whether this channel is shared with another workspace "
            f"(Slack said {error}), so the list is not posted here. {_INSTEAD}"
        ) from exc
    conversation = answer.get("channel")
    flags = {
        flag: conversation.get(flag) if isinstance(conversation, dict) else None
        for flag in SHARED_FLAGS
    }
    if any(value is True for value in flags.values()):
        raise NotDelivered(
            "this channel is shared with another workspace, and the opted-out list (phone "
            f"numbers, contacts' texts, reasons) is never posted in one. {_INSTEAD}"
        )
    if any(value is not False for value in flags.values()):
        unknown = ", ".join(flag for flag, value in flags.items() if value is not False)
        raise NotDelivered(
            f"Slack did not say whether this conversation is shared with another workspace "
            f"({unknown} unknown), so the list is not posted here. {_INSTEAD}"
        )
    return Destination(channel_id, private=False)


def _slack_error(exc: SlackApiError) -> str:
    error = str(exc.response.get("error", "unknown_error"))
    needed = exc.response.get("needed")
    return f"`{error}`, needs `{needed}`" if needed else f"`{error}`"
