"""Each carrier's settings (its own variable names, and each also with a STOPLINE_ prefix).

A carrier is on when what checks its requests is set; its replies go through its messaging
API only when the sending credentials are set too (Twilio and Plivo answer in the response).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings

Replies = Literal["stopline", "carrier", "none"]


def _env(name: str, default: Any = None) -> Any:
    """A setting read from NAME or STOPLINE_NAME (the carrier's own name first in the docs)."""
    return Field(default=default, validation_alias=AliasChoices(f"STOPLINE_{name}", name))


class CarrierSettings(BaseSettings):
    """The carriers' settings, mixed into core.config.Settings."""

    twilio_auth_token: SecretStr | None = _env("TWILIO_AUTH_TOKEN")
    twilio_replies: Replies | None = _env("TWILIO_REPLIES")

    telnyx_public_key: str | None = _env("TELNYX_PUBLIC_KEY")
    telnyx_api_key: SecretStr | None = _env("TELNYX_API_KEY")
    telnyx_api_url: str = _env("TELNYX_API_URL", "https://api.telnyx.com/v2/")
    telnyx_replies: Replies | None = _env("TELNYX_REPLIES")

    plivo_auth_id: str | None = _env("PLIVO_AUTH_ID")
    plivo_auth_token: SecretStr | None = _env("PLIVO_AUTH_TOKEN")
    plivo_replies: Replies | None = _env("PLIVO_REPLIES")

    bandwidth_callback_username: str | None = _env("BANDWIDTH_CALLBACK_USERNAME")
    bandwidth_callback_password: SecretStr | None = _env("BANDWIDTH_CALLBACK_PASSWORD")
    bandwidth_account_id: str | None = _env("BANDWIDTH_ACCOUNT_ID")
    bandwidth_application_id: str | None = _env("BANDWIDTH_APPLICATION_ID")
    bandwidth_api_username: str | None = _env("BANDWIDTH_API_USERNAME")
    bandwidth_api_password: SecretStr | None = _env("BANDWIDTH_API_PASSWORD")
    bandwidth_api_url: str = _env("BANDWIDTH_API_URL", "https://messaging.bandwidth.com/api/v2/")
    bandwidth_replies: Replies | None = _env("BANDWIDTH_REPLIES")

    vonage_signature_secret: SecretStr | None = _env("VONAGE_SIGNATURE_SECRET")
    vonage_api_key: str | None = _env("VONAGE_API_KEY")
    vonage_api_secret: SecretStr | None = _env("VONAGE_API_SECRET")
    vonage_api_url: str = _env("VONAGE_API_URL", "https://api.nexmo.com/v1/")
    vonage_replies: Replies | None = _env("VONAGE_REPLIES")

    sinch_callback_username: str | None = _env("SINCH_CALLBACK_USERNAME")
    sinch_callback_password: SecretStr | None = _env("SINCH_CALLBACK_PASSWORD")
    sinch_service_plan_id: str | None = _env("SINCH_SERVICE_PLAN_ID")
    sinch_api_token: SecretStr | None = _env("SINCH_API_TOKEN")
    sinch_api_url: str = _env("SINCH_API_URL", "https://us.sms.api.sinch.com/xms/v1/")
    sinch_replies: Replies | None = _env("SINCH_REPLIES")

    def carrier(self, name: str) -> CarrierState:
        """Whether a carrier's door is on, what is missing, and who sends its replies."""
        checks, sending = _NEEDS[name]
        missing = tuple(v for v in checks if not _given(getattr(self, v.lower())))
        unsent = tuple(v for v in sending if not _given(getattr(self, v.lower())))
        chosen: Replies | None = getattr(self, f"{name}_replies")
        replies: Replies = chosen or ("stopline" if not unsent else "none")
        return CarrierState(name, not missing, missing, replies, unsent)


@dataclass(frozen=True, slots=True)
class CarrierState:
    """A carrier as configured: on or off, the variables missing, and its replies' sender."""

    name: str
    configured: bool
    missing: tuple[str, ...]  # the variables that would turn its door on
    replies: Replies  # stopline sends them, the carrier's own auto-replies do, or nobody
    missing_for_replies: tuple[str, ...] = ()

    def banner(self) -> str:
        """One line for the serve banner and /healthz."""
        if not self.configured:
            return f"off: set {' and '.join(self.missing)}"
        return f"on; {self.replies_summary()}"

    def replies_summary(self) -> str:
        """Who sends this carrier's replies, or what they still need."""
        if self.replies == "none":
            unset = self.missing_for_replies
            return "no replies" + (f" (set {', '.join(unset)} to send them)" if unset else "")
        if self.replies == "stopline" and self.missing_for_replies:
            return f"replies need {', '.join(self.missing_for_replies)}"
        return f"replies by {self.replies}"


# For each carrier: the variables that check its requests, then those its replies need
# (none for Twilio and Plivo: they take the reply in the HTTP response).
_NEEDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "twilio": (("TWILIO_AUTH_TOKEN",), ()),
    "telnyx": (("TELNYX_PUBLIC_KEY",), ("TELNYX_API_KEY",)),
    "plivo": (("PLIVO_AUTH_TOKEN",), ()),
    "bandwidth": (
        ("BANDWIDTH_CALLBACK_USERNAME", "BANDWIDTH_CALLBACK_PASSWORD"),
        (
            "BANDWIDTH_ACCOUNT_ID",
            "BANDWIDTH_APPLICATION_ID",
            "BANDWIDTH_API_USERNAME",
            "BANDWIDTH_API_PASSWORD",
        ),
    ),
    "vonage": (("VONAGE_SIGNATURE_SECRET",), ("VONAGE_API_KEY", "VONAGE_API_SECRET")),
    "sinch": (
        ("SINCH_CALLBACK_USERNAME", "SINCH_CALLBACK_PASSWORD"),
        ("SINCH_SERVICE_PLAN_ID", "SINCH_API_TOKEN"),
    ),
}
CARRIER_NAMES: tuple[str, ...] = tuple(_NEEDS)
# Where each carrier is told to call (its texts first, then its statuses when they differ).
DOOR_PATHS: dict[str, tuple[str, ...]] = {
    "twilio": ("/webhooks/twilio", "/webhooks/twilio/status"),
    "telnyx": ("/webhooks/telnyx",),
    "plivo": ("/webhooks/plivo", "/webhooks/plivo/status"),
    "bandwidth": ("/webhooks/bandwidth",),
    "vonage": ("/webhooks/vonage", "/webhooks/vonage/status"),
    "sinch": ("/webhooks/sinch",),
}


def _given(value: object) -> bool:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return bool(isinstance(value, str) and value.strip())
