"""Helpers for Bandwidth tests: its JSON events and HTTP Basic credentials."""

from __future__ import annotations

import base64
import itertools
from typing import Any

from flask.testing import FlaskClient
from pydantic import SecretStr
from werkzeug.test import TestResponse

from core.config import Settings
from stopline.wiring import Services
from tests.web.helpers import BUSINESS, CONTACT

HOOK = "/webhooks/bandwidth"
USERNAME = "bw-callbacks"
PASSWORD = "test-bandwidth-pässword"  # not ASCII: the credentials are compared as UTF-8 bytes
APPLICATION = "93de2206-9669-4e07-948d-329f4b722ee2"

_ids = itertools.count(1)
Event = dict[str, Any]


def with_bandwidth(settings: Settings) -> Settings:
    """The test settings with the Bandwidth door on (its callback credentials set)."""
    # model_copy does not validate: the password is given as the SecretStr it would become.
    update = {"bandwidth_callback_username": USERNAME,
              "bandwidth_callback_password": SecretStr(PASSWORD)}  # fmt: skip
    return settings.model_copy(update=update)


def new_id() -> str:
    """A fresh id in Bandwidth's v2 format: 13 digits of milliseconds, 16 letters or digits."""
    n = next(_ids)
    return f"{1765000000000 + n}{n:016x}"


def received(text: str, *, contact: str = CONTACT, sender: str = BUSINESS,
             message_id: str | None = None) -> Event:  # fmt: skip
    """A message-received event, shaped as Bandwidth's documented example."""
    return {
        "type": "message-received",
        "time": "2026-12-08T03:50:00.000Z",
        "description": "Incoming message received",
        "to": sender,
        "message": {
            "id": new_id() if message_id is None else message_id,
            "time": "2026-12-08T03:50:00.000Z",
            "to": [sender],
            "from": contact,
            "text": text,
            "applicationId": APPLICATION,
            "owner": sender,
            "direction": "in",
            "segmentCount": 1,
        },
    }


def outbound(kind: str, *, code: int | str | None = None, contact: str = CONTACT,
             sender: str = BUSINESS, message_id: str | None = None) -> Event:  # fmt: skip
    """An event about a message the business sent (message-failed with its errorCode, ...)."""
    event: Event = {
        "type": kind,
        "time": "2026-12-08T03:50:00.000Z",
        "description": "destination-rejected-due-to-user-opt-out",
        "to": contact,
        "message": {
            "id": new_id() if message_id is None else message_id,
            "time": "2026-12-08T03:49:59.000Z",
            "to": [contact],
            "from": sender,
            "text": "",
            "applicationId": APPLICATION,
            "owner": sender,
            "direction": "out",
            "segmentCount": 1,
        },
    }
    if code is not None:
        event["errorCode"] = code
    return event


def basic(username: str = USERNAME, password: str = PASSWORD) -> dict[str, str]:
    """The Authorization header Bandwidth sends with the application's callback credentials."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def post(client: FlaskClient, events: Any, *, headers: dict[str, str] | None = None
         ) -> TestResponse:  # fmt: skip
    """POST events as JSON to the hook, with the right credentials unless told otherwise."""
    return client.post(HOOK, json=events, headers=basic() if headers is None else headers)


def status(services: Services, contact: str = CONTACT, sender: str | None = BUSINESS) -> str:
    """The contact's consent seen from one sender, as text ("opted_out", "subscribed")."""
    return str(services.consent.status(contact, sender).status)


def events(services: Services, contact: str = CONTACT) -> int:
    """How many events the contact's history holds."""
    return len(services.consent.events(contact))
