"""Hypothesis: no body, header or encoding makes the Sinch door answer 5xx; without the
credentials it is always 401 and nothing changes."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.config import Settings
from stopline.wiring import Services
from tests.web.sinch_helpers import CONTACT, CONTACT_E164, HOOK, basic, new_id, with_sinch

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.sampled_from([CONTACT, "STOP", "START", "HELP", "", new_id(), 257, "257", "12345"]),
)
_json = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                     max_leaves=10)  # fmt: skip
_keys = st.sampled_from(
    ["type", "id", "from", "to", "body", "batch_id", "recipient", "code", "status",
     "applied_originator"]
)  # fmt: skip
_types = st.sampled_from(
    ["mo_text", "recipient_delivery_report_sms", "mo_binary", "delivery_report_sms", "x"]
)
_events = st.builds(
    lambda kind, fields: {"type": kind, **fields},
    _types,
    st.dictionaries(_keys, _json, max_size=8),
)
_headers = st.dictionaries(
    st.sampled_from(["Authorization", "Content-Type", "Content-Encoding", "X-Custom"]),
    st.one_of(
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
        st.sampled_from(["Basic", "Basic =", "Basic Og==", "Basic c2luY2g6", "gzip"]),
    ),
    max_size=3,
)
_slow = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings, Sinch's door on."""
    return with_sinch(settings)


def _count(services: Services) -> int:
    return len(services.consent.events(CONTACT_E164))


@_slow
@given(event=_events, raw=st.binary(max_size=200), headers=_headers)
def test_without_the_credentials_always_401_and_nothing_changes(
    client: FlaskClient, services: Services, event: dict[str, object], raw: bytes,
    headers: dict[str, str],
) -> None:  # fmt: skip
    before = _count(services)
    for body in (json.dumps(event).encode(), raw):
        response = client.post(HOOK, data=body, headers=headers)
        assert response.status_code == 401, response.get_data(as_text=True)
        assert response.headers["WWW-Authenticate"] == 'Basic realm="stopline"'
    assert _count(services) == before


# What a header can carry on the wire: no CR, LF or other control characters.
_header_text = st.text(st.characters(min_codepoint=32, max_codepoint=255,
                                     exclude_characters="\x7f"), max_size=30)  # fmt: skip


@_slow
@given(event=_events, raw=st.binary(max_size=200), content_type=_header_text)
def test_with_the_credentials_never_5xx(
    client: FlaskClient, event: dict[str, object], raw: bytes, content_type: str
) -> None:
    for body in (json.dumps(event).encode(), json.dumps(event).encode("utf-16"), raw):
        response = client.post(HOOK, data=body, headers={**basic(), "Content-Type": content_type})
        assert response.status_code < 500, response.get_data(as_text=True)
