"""Hypothesis: no body, header or encoding makes Vonage's doors 5xx; unsigned changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.config import Settings
from stopline.wiring import Services
from tests.web.vonage_helpers import (
    BUSINESS,
    CONTACT,
    CONTACT_E164,
    HOOK,
    STATUS_HOOK,
    token,
    vonage_settings,
)

_scalars = st.one_of(
    st.sampled_from([CONTACT, BUSINESS, "STOP", "START", "HELP", "sms", "text", "rejected",
                     "aaaaaaaa-bbbb-cccc-dddd-0123456789ab", "", "12345", "AcmeInc"]),
    st.text(max_size=40), st.integers(), st.floats(), st.booleans(), st.none(),
)  # fmt: skip
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
_names = st.one_of(
    st.sampled_from(["channel", "message_uuid", "to", "from", "text", "message_type", "status",
                     "error", "timestamp", "sms"]),
    st.text(max_size=10),
)  # fmt: skip
_payloads = st.dictionaries(_names, _values, max_size=9)
_bodies = st.one_of(
    _payloads.map(lambda p: json.dumps(p).encode()),
    st.binary(max_size=200),
    st.text(max_size=100).map(lambda t: t.encode("utf-16")),
)
# A genuine JWT, for bytes no strategy here makes: valid, but not for the body it comes with.
_OTHER = token(b'{"channel": "sms", "text": "STOP"}\n\n')
_headers = st.dictionaries(
    st.sampled_from(["Authorization", "Content-Type", "Content-Encoding", "X-Forwarded-Proto"]),
    st.one_of(
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
        st.sampled_from(["Bearer ", "bearer x.y.z", "Bearer " + _OTHER, "Basic Og=="]),
    ),
    max_size=3,
)
_paths = st.sampled_from([HOOK, STATUS_HOOK])
_content_types = st.sampled_from(
    ["application/json", "text/plain; charset=latin-1", "application/x-www-form-urlencoded"]
)
_slow = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# Named "settings" for pytest; the function has another name so Hypothesis's stays usable.
@pytest.fixture(name="settings")
def _vonage_on(settings: Settings) -> Settings:
    """The test settings with Vonage's door on."""
    return vonage_settings(settings)


def _count(services: Services) -> int:
    return len(services.consent.events(CONTACT_E164))


@_slow
@given(body=_bodies, headers=_headers, path=_paths)
def test_unsigned_or_forged_never_5xx_and_never_change_state(
    client: FlaskClient, services: Services, body: bytes, headers: dict[str, str], path: str
) -> None:
    before = _count(services)
    response = client.post(path, data=body, headers=headers)
    # Without a JWT for these very bytes, whatever they are, the answer is 401.
    assert response.status_code == 401, response.get_data(as_text=True)
    assert _count(services) == before


@_slow
@given(body=_bodies, path=_paths, content_type=_content_types)
def test_signed_bodies_never_5xx(
    client: FlaskClient, body: bytes, path: str, content_type: str
) -> None:
    response = client.post(
        path, data=body, content_type=content_type,
        headers={"Authorization": f"Bearer {token(body)}"},
    )  # fmt: skip
    assert response.status_code < 500, response.get_data(as_text=True)


@_slow
@given(change=st.dictionaries(_names, _values, max_size=3), path=_paths)
def test_signed_near_deliveries_never_5xx(
    client: FlaskClient, change: dict[str, Any], path: str
) -> None:
    base: dict[str, Any] = {
        "channel": "sms", "message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
        "to": BUSINESS, "from": CONTACT, "text": "STOP", "message_type": "text",
        "status": "rejected",
        "error": {"type": "https://developer.vonage.com/api-errors/messages#1240"},
    }  # fmt: skip
    body = json.dumps({**base, **change}).encode()
    response = client.post(
        path, data=body, content_type="application/json",
        headers={"Authorization": f"Bearer {token(body)}"},
    )  # fmt: skip
    assert response.status_code < 500, response.get_data(as_text=True)
