"""The carriers' messaging APIs for replies stopline sends itself (the outbox's senders)."""

from __future__ import annotations

from collections.abc import Callable

from core.carrier_settings import CarrierSettings
from core.ports import ReplySender
from outbound import bandwidth, sinch, telnyx, vonage

# The carriers that take no reply in the HTTP answer, each with how to build its sender.
FACTORIES: dict[str, Callable[[CarrierSettings], ReplySender]] = {
    "telnyx": telnyx.from_settings,
    "bandwidth": bandwidth.from_settings,
    "vonage": vonage.from_settings,
    "sinch": sinch.from_settings,
}


def build_senders(settings: CarrierSettings) -> dict[str, ReplySender]:
    """A sender for each carrier whose sending credentials are all set, keyed by carrier."""
    return {
        name: build(settings)
        for name, build in FACTORIES.items()
        if not settings.carrier(name).missing_for_replies
    }
