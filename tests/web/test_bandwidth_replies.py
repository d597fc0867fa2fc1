"""Bandwidth takes no reply in the HTTP answer: texts are handed on marked for the outbox."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from core.config import Settings
from core.model import InboundMessage, Outcome
from stopline.wiring import Services
from tests.web.bandwidth_helpers import APPLICATION, post, received, with_bandwidth
from tests.web.helpers import BUSINESS
from web import create_app

SENDING = {
    "bandwidth_account_id": "9900000",
    "bandwidth_application_id": APPLICATION,
    "bandwidth_api_username": "api-user",
    "bandwidth_api_password": SecretStr("api-password"),
}


class SeenNotices:
    """A fake of the Slack notices port that keeps what the door handed on."""

    def __init__(self) -> None:
        self.seen: list[tuple[InboundMessage, Outcome]] = []

    def message_received(self, message: InboundMessage, outcome: Outcome) -> None:
        """Keep the message and its outcome."""
        self.seen.append((message, outcome))

    def close(self) -> None:
        """Nothing is queued."""


@pytest.mark.parametrize(
    ("update", "by_api"),
    [
        (SENDING, True),  # the API credentials set: stopline sends the reply
        ({}, False),  # none set: no reply at all
        ({**SENDING, "bandwidth_replies": "carrier"}, False),  # Bandwidth's own auto-replies
    ],
)
def test_a_stop_is_answered_empty_and_marked_for_the_outbox(
    settings: Settings, services: Services, update: dict[str, object], by_api: bool
) -> None:
    notices = SeenNotices()
    configured = with_bandwidth(settings).model_copy(update=update)
    client = create_app(configured, services, notifier=notices).test_client()
    response = post(client, [received("STOP", contact="12065550123")])
    assert response.status_code == 200 and response.get_data() == b""
    ((message, outcome),) = notices.seen
    assert message.reply_by_api is by_api and outcome.reply
    # The outbox replies to the numbers exactly as Bandwidth wrote them.
    assert (message.carrier, message.contact, message.sender) == (
        "bandwidth",
        "12065550123",
        BUSINESS,
    )
