"""Hypothesis: no form body or header makes a Twilio hook answer 500; unsigned changes nothing."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from stopline.wiring import Services
from tests.web.helpers import BUSINESS, CONTACT, HOOK, sign

_names = st.one_of(
    st.sampled_from(["From", "To", "Body", "MessageSid", "SmsSid", "NumMedia", "OptOutType",
                     "ErrorCode", "MessageStatus"]),
    st.text(max_size=12),
)
_values = st.one_of(
    st.sampled_from([CONTACT, BUSINESS, "STOP", "START", "HELP", "", "+1206001234", "12345",
                     "21610", "failed", "SM" + "a" * 32]),
    st.text(max_size=80),
)
_forms = st.lists(st.tuples(_names, _values), max_size=8)
_headers = st.dictionaries(
    st.sampled_from(["X-Twilio-Signature", "Content-Type", "X-Forwarded-Proto", "X-Custom"]),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    max_size=3,
)
_slow = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _count(services: Services) -> int:
    return len(services.consent.events(CONTACT))


PATHS = pytest.mark.parametrize("path", [HOOK, HOOK + "/status"])


@PATHS
@_slow
@given(form=_forms, headers=_headers)
def test_unsigned_or_forged_never_500_and_never_change_state(
    client: FlaskClient, services: Services, path: str, form: list[tuple[str, str]],
    headers: dict[str, str],
) -> None:  # fmt: skip
    before = _count(services)
    response = client.post(path, data=MultiDict(form), headers=headers)
    # Whatever the body and headers, without a valid signature the answer is 403.
    assert response.status_code == 403, response.get_data(as_text=True)
    assert _count(services) == before


@PATHS
@_slow
@given(form=_forms, raw=st.binary(max_size=200))
def test_signed_forms_never_500(
    client: FlaskClient, path: str, form: list[tuple[str, str]], raw: bytes
) -> None:
    data = MultiDict(form)  # repeated names included: Twilio signs every value
    url = "http://localhost" + path
    response = client.post(path, data=data, headers={"X-Twilio-Signature": sign(data, url)})
    assert response.status_code < 500, response.get_data(as_text=True)
    # Arbitrary bytes (bad UTF-8, odd encodings) as the raw body must not break it either.
    garbage = client.post(
        path,
        data=raw,
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": sign({}, url)},
    )
    assert garbage.status_code < 500, garbage.get_data(as_text=True)
