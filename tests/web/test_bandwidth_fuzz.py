"""Hypothesis: no body, header or encoding makes the Bandwidth hook answer 5xx; none without
its credentials changes anything."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from core.config import Settings
from stopline.wiring import Services
from tests.web.bandwidth_helpers import HOOK, basic, new_id, with_bandwidth
from tests.web.helpers import BUSINESS, CONTACT

OTHER = "+12065550199"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings with Bandwidth's callback credentials."""
    return with_bandwidth(settings)


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30),
    st.sampled_from([CONTACT, BUSINESS, OTHER, "12065550123", "12345", "STOP", "START", "HELP",
                     "please stop texting me", "", "\x00", "\ud800", "+1206555\ud8000123",
                     "+1206555\x000123", "4775", "ACME"]),
)  # fmt: skip
_ids = st.one_of(st.builds(new_id), st.just("1593110555875xo7watq5px6rbe5d"), _scalars)
_messages = st.fixed_dictionaries(
    {}, optional={"id": _ids, "from": _scalars, "text": _scalars, "owner": _scalars,
                  "to": st.lists(_scalars, max_size=2), "direction": _scalars},
)  # fmt: skip
_events = st.fixed_dictionaries(
    {}, optional={
        "type": st.one_of(st.sampled_from(["message-received", "message-failed",
                                           "message-delivered", "message-sending"]), _scalars),
        "to": _scalars, "errorCode": st.one_of(st.sampled_from([4775, "4775", 4432]), _scalars),
        "message": st.one_of(_messages, _scalars), "description": _scalars,
    },
)  # fmt: skip
_bodies = st.one_of(
    st.lists(st.one_of(_events, _scalars), max_size=4),
    _scalars,
    st.dictionaries(st.text(max_size=8), _scalars, max_size=3),
)
_encodings = st.sampled_from(["utf-8", "utf-16", "latin-1", "utf-32"])
_latin1 = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=60)
_headers = st.dictionaries(
    st.sampled_from(["Authorization", "Content-Type", "X-Forwarded-Proto", "X-Custom"]),
    st.one_of(_latin1, st.sampled_from(["Basic ", "Basic Og==", "application/json"]),
              st.builds(lambda h: h["Authorization"][:-2], st.just(basic()))),
    max_size=3,
)  # fmt: skip
_slow = examples(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _raw(body: Any, encoding: str) -> bytes:
    try:
        return json.dumps(body).encode(encoding)
    except UnicodeEncodeError:  # latin-1 of an escaped text never fails; surrogates may
        return json.dumps(body).encode("utf-8", "surrogatepass")


def _count(services: Services) -> int:
    return sum(len(services.consent.events(phone)) for phone in (CONTACT, OTHER))


@_slow
@given(body=_bodies, raw=st.binary(max_size=200), encoding=_encodings, headers=_headers)
def test_without_the_credentials_always_401_and_nothing_changes(
    client: FlaskClient, services: Services, body: Any, raw: bytes, encoding: str,
    headers: dict[str, str],
) -> None:  # fmt: skip
    before = _count(services)
    for data in (_raw(body, encoding), raw):
        response = client.post(HOOK, data=data, content_type="application/json", headers=headers)
        assert response.status_code == 401, response.get_data(as_text=True)
    assert _count(services) == before


@_slow
@given(
    body=_bodies,
    raw=st.binary(max_size=200),
    encoding=_encodings,
    content_type=st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-16",
            "text/plain",
            "application/x-www-form-urlencoded",
            "",
        ]
    ),
)
def test_with_the_credentials_never_5xx(
    client: FlaskClient, body: Any, raw: bytes, encoding: str, content_type: str
) -> None:  # fmt: skip
    for data in (_raw(body, encoding), raw):
        response = client.post(HOOK, data=data, content_type=content_type, headers=basic())
        assert response.status_code < 500, response.get_data(as_text=True)
        assert response.status_code in (200, 400), response.get_data(as_text=True)
