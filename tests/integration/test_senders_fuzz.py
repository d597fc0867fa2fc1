"""Hypothesis: whatever a carrier's API answers, send() returns or raises SendFailed, classed by
status, with a bounded detail that never carries a credential."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.ports import SendFailed
from outbound import build_senders
from outbound.http import DETAIL_LIMIT, retry_after
from tests.fakecarrierapi import Answer, fake_carrier_api
from tests.sendercases import CARRIERS, IDS, Carrier

_header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=10,
)
_shaped = st.fixed_dictionaries(
    {},
    optional={
        key: st.text(max_size=40) | _json
        for key in ("errors", "code", "title", "detail", "type", "description", "text")
    },
)
_slow = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _body(carrier: Carrier, data: st.DataObject) -> bytes:
    """A random body, sometimes in an error shape, sometimes echoing the credentials."""
    kind = data.draw(st.sampled_from(["bytes", "text", "json", "shaped", "echo"]))
    if kind == "bytes":
        return data.draw(st.binary(max_size=400))
    if kind == "text":
        return data.draw(st.text(max_size=400)).encode("utf-8", "surrogatepass")
    if kind == "json":
        return json.dumps(data.draw(_json)).encode()
    shaped = data.draw(_shaped)
    if kind == "echo":
        shaped = {key: " ".join(carrier.secrets) for key in shaped} or {"text": carrier.secrets}
    return json.dumps(shaped).encode()


@pytest.mark.parametrize("carrier", CARRIERS, ids=IDS)
@_slow
@given(data=st.data(), status=st.integers(200, 599), header=st.none() | _header_text)
def test_any_answer_is_classed_by_status(carrier: Carrier, data, status: int, header) -> None:
    headers = {} if header is None else {"Retry-After": header}
    answer = Answer(status, _body(carrier, data), headers)
    with fake_carrier_api(answer) as api:
        sender = build_senders(carrier.settings(api.url))[carrier.name]
        try:
            sender.send(carrier.reply)
        except SendFailed as failure:
            assert not 200 <= status < 300
            assert failure.retry is (status == 429 or status >= 500)
            if status != 429:
                assert failure.retry_after is None
            assert len(failure.detail) <= DETAIL_LIMIT + len(f"{carrier.name}: HTTP {status}: ")
            for secret in carrier.secrets:
                assert secret not in failure.detail
        else:
            assert 200 <= status < 300
        finally:
            sender.close()  # type: ignore[attr-defined]
    assert len(api.requests) == 1


@settings(max_examples=200, deadline=None)
@given(header=st.none() | st.text(max_size=60))
def test_retry_after_never_raises(header: str | None) -> None:
    seconds = retry_after(header)
    assert seconds is None or seconds >= 0
