"""The carriers' send clients under test: credentials, a reply, and the exact request expected."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from core.config import Settings
from core.model import Reply

# Every variable build_senders reads, so a value in the test machine's environment never counts.
SENDING_VARS = (
    "TELNYX_API_KEY", "TELNYX_API_URL",
    "BANDWIDTH_ACCOUNT_ID", "BANDWIDTH_APPLICATION_ID", "BANDWIDTH_API_USERNAME",
    "BANDWIDTH_API_PASSWORD", "BANDWIDTH_API_URL",
    "VONAGE_API_KEY", "VONAGE_API_SECRET", "VONAGE_API_URL",
    "SINCH_SERVICE_PLAN_ID", "SINCH_API_TOKEN", "SINCH_API_URL",
)  # fmt: skip


def settings_of(values: dict[str, Any]) -> Settings:
    """Settings from these variables only (no .env file)."""
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def basic_auth(user: str, password: str) -> str:
    """An HTTP Basic Authorization header's value."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass(frozen=True)
class Carrier:
    """One carrier's test credentials, a reply as the outbox hands it, and the request expected."""

    name: str
    credentials: dict[str, str]  # the settings, by variable name, without the API URL
    url_var: str
    url_path: str  # the API URL's path (the default's), the fake's base
    reply: Reply
    path: str
    headers: dict[str, str]  # lower-cased names
    body: dict[str, Any]
    error: dict[str, Any]  # a 400 body in the carrier's own error shape
    error_text: str  # what of it SendFailed.detail must name

    def settings(self, base_url: str) -> Settings:
        """Settings with these credentials and the API URL on the fake server."""
        return settings_of({**self.credentials, self.url_var: base_url + self.url_path})

    @property
    def secrets(self) -> list[str]:
        """The credential values that must never appear in a failure's detail."""
        return [
            v
            for k, v in self.credentials.items()
            if k.endswith(("KEY", "SECRET", "TOKEN", "USERNAME", "PASSWORD"))
        ]


CARRIERS = [
    Carrier(
        name="telnyx",
        credentials={"TELNYX_API_KEY": "KEYtelnyx0123456789test"},
        url_var="TELNYX_API_URL",
        url_path="/v2/",
        reply=Reply(
            1, "telnyx", "+15550001111", "+15552223333", "You are unsubscribed.", "reply-1"
        ),
        path="/v2/messages",
        headers={"authorization": "Bearer KEYtelnyx0123456789test", "idempotency-key": "reply-1"},
        body={"from": "+15550001111", "to": "+15552223333", "text": "You are unsubscribed."},
        error={
            "errors": [
                {
                    "code": "40310",
                    "title": "Invalid 'to' address",
                    "detail": "The 'to' address is not valid.",
                }
            ]
        },
        error_text="40310 Invalid 'to' address The 'to' address is not valid.",
    ),
    Carrier(
        name="bandwidth",
        credentials={
            "BANDWIDTH_ACCOUNT_ID": "9900000",
            "BANDWIDTH_APPLICATION_ID": "93de2206-9669-4e07-948d-329f4b722ee2",
            "BANDWIDTH_API_USERNAME": "bw-user",
            "BANDWIDTH_API_PASSWORD": "bw-pass-5ecret",
        },
        url_var="BANDWIDTH_API_URL",
        url_path="/api/v2/",
        reply=Reply(2, "bandwidth", "+15550001111", "+15552223333", "Help: reply STOP.", "reply-2"),
        path="/api/v2/users/9900000/messages",
        headers={"authorization": basic_auth("bw-user", "bw-pass-5ecret")},
        body={
            "applicationId": "93de2206-9669-4e07-948d-329f4b722ee2",
            "to": ["+15552223333"],
            "from": "+15550001111",
            "text": "Help: reply STOP.",
            "tag": "reply-2",
        },
        error={
            "type": "request-validation",
            "description": "Your request could not be accepted",
            "fieldErrors": [{"fieldName": "to", "description": "'+1555' must be E164"}],
        },
        error_text="request-validation Your request could not be accepted to '+1555' must be E164",
    ),
    Carrier(
        name="vonage",
        credentials={"VONAGE_API_KEY": "abcd1234", "VONAGE_API_SECRET": "vonageSecret42"},
        url_var="VONAGE_API_URL",
        url_path="/v1/",
        reply=Reply(3, "vonage", "15550001111", "447700900001", "You are unsubscribed.", "reply-3"),
        path="/v1/messages",
        headers={"authorization": basic_auth("abcd1234", "vonageSecret42")},
        body={
            "message_type": "text",
            "channel": "sms",
            "to": "447700900001",
            "from": "15550001111",
            "text": "You are unsubscribed.",
            "client_ref": "reply-3",
        },
        error={
            "type": "https://developer.nexmo.com/api-errors/messages-olympus#1150",
            "title": "Invalid params",
            "detail": "The value of one or more parameters is invalid.",
        },
        error_text="Invalid params The value of one or more parameters is invalid."
        " https://developer.nexmo.com/api-errors/messages-olympus#1150",
    ),
    Carrier(
        name="sinch",
        credentials={
            "SINCH_SERVICE_PLAN_ID": "jd63jf88477ll123ab4567cd89012ef3",
            "SINCH_API_TOKEN": "sinchToken77",
        },
        url_var="SINCH_API_URL",
        url_path="/xms/v1/",
        reply=Reply(4, "sinch", "15550001111", "46700000001", "You are unsubscribed.", "reply-4"),
        path="/xms/v1/jd63jf88477ll123ab4567cd89012ef3/batches",
        headers={"authorization": "Bearer sinchToken77"},
        body={
            "from": "15550001111",
            "to": ["46700000001"],
            "body": "You are unsubscribed.",
            "client_reference": "reply-4",
        },
        error={"code": "syntax_invalid_parameter_format", "text": "Invalid parameter format: to"},
        error_text="syntax_invalid_parameter_format Invalid parameter format: to",
    ),
]
BY_NAME = {c.name: c for c in CARRIERS}
IDS = [c.name for c in CARRIERS]
