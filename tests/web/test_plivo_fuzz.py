"""Hypothesis, Plivo's doors: no body, header or encoding gives a 5xx; unsigned changes nothing."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from werkzeug.datastructures import MultiDict

from core.config import Settings
from stopline.wiring import Services
from tests.web.plivo_helpers import (
    BASE,
    BUSINESS,
    CONTACT,
    CONTACT_KEY,
    HOOK,
    PLIVO_TOKEN,
    STATUS_HOOK,
    new_uuid,
    v3_headers,
)

_names = st.one_of(
    st.sampled_from(["From", "To", "Text", "Type", "MessageUUID", "MessageIntent",
                     "ParentMessageUUID", "Status", "ErrorCode"]),
    st.text(max_size=12),
)  # fmt: skip
_values = st.one_of(
    st.sampled_from([CONTACT, BUSINESS, "STOP", "optout", "optin", "help", "failed", "200", "",
                     "12345", "00000000-0000-0000-0000-000000000001"]),
    st.builds(new_uuid),
    st.text(max_size=80),
)  # fmt: skip
_forms = st.lists(st.tuples(_names, _values), max_size=8)
_headers = st.dictionaries(
    st.sampled_from(["X-Plivo-Signature-V3", "X-Plivo-Signature-V3-Nonce",
                     "X-Plivo-Signature-MA-V3", "X-Plivo-Signature-MA-V3-Nonce", "Content-Type"]),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
    max_size=4,
)  # fmt: skip
_hooks = st.sampled_from([HOOK, STATUS_HOOK])
_slow = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings with Plivo's test auth token."""
    return settings.model_copy(update={"plivo_auth_token": SecretStr(PLIVO_TOKEN)})


def _count(services: Services) -> int:
    return len(services.consent.events(CONTACT_KEY))


@_slow
@given(form=_forms, headers=_headers, hook=_hooks)
def test_unsigned_or_forged_is_403_and_changes_nothing(
    client: FlaskClient, services: Services, form: list[tuple[str, str]],
    headers: dict[str, str], hook: str,
) -> None:  # fmt: skip
    before = _count(services)
    response = client.post(hook, data=MultiDict(form), headers=headers)
    assert response.status_code == 403, response.get_data(as_text=True)
    assert _count(services) == before


@_slow
@given(
    form=_forms,
    raw=st.binary(max_size=200),
    hook=_hooks,
    charset=st.sampled_from(["", "; charset=utf-8", "; charset=latin-1", "; charset=nope"]),
)
def test_signed_forms_and_raw_bytes_never_5xx(
    client: FlaskClient, form: list[tuple[str, str]], raw: bytes, hook: str, charset: str
) -> None:  # fmt: skip
    data = MultiDict(form)
    response = client.post(hook, data=data, headers=v3_headers(data, BASE + hook))
    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.status_code != 403  # the signature held: the parser was reached
    # Bad UTF-8, odd charsets: whatever the bytes, a 4xx at worst. Signed as werkzeug will
    # read them (undecodable bytes replaced), so most get past the signature to the parser.
    read = MultiDict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    garbage = client.post(
        hook,
        data=raw,
        content_type="application/x-www-form-urlencoded" + charset,
        headers=v3_headers(read, BASE + hook),
    )
    assert garbage.status_code < 500, garbage.get_data(as_text=True)
