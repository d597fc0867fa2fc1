"""A STOP through Telnyx's door is confirmed through Telnyx's API: queued, retried, sent once."""

from __future__ import annotations

import time
from collections.abc import Callable

from pydantic import SecretStr

from bench.carrier_requests import SETTINGS, telnyx
from core.config import Settings
from stopline.wiring import build_services, close_app, start_outbox, wire_app
from tests.fakecarrierapi import Answer, FakeCarrierApi, fake_carrier_api

CONTACT, BUSINESS = "+12065550123", "+12065550100"
SID = "7ee4241c-f127-47e5-9c34-3aac291f8058"


def wait_for(condition: Callable[[], bool], seconds: float = 15.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_telnyx_stop_is_confirmed_once_through_the_api_after_a_failed_attempt(
    settings: Settings,
) -> None:
    with fake_carrier_api(Answer(503, '{"errors": [{"title": "try later"}]}')) as api:
        wired = settings.model_copy(update={
            "telnyx_public_key": SETTINGS["telnyx_public_key"],
            "telnyx_api_key": SecretStr("KEY-test"), "telnyx_api_url": api.url + "/v2/",
        })  # fmt: skip
        services = build_services(wired)
        app = wire_app(wired, services)
        try:
            start_outbox(app)
            client = app.test_client()
            request = telnyx("http://localhost", SID, CONTACT, BUSINESS, "STOP")
            answer = client.post(request.path, data=request.body, headers=request.headers)
            assert answer.status_code == 200 and answer.get_data() == b""
            assert not services.consent.status(CONTACT, BUSINESS).can_send
            assert wait_for(lambda: len(api.requests) >= 2), api.requests
            again = telnyx("http://localhost", SID, CONTACT, BUSINESS, "STOP")  # a retry
            retried = client.post(again.path, data=again.body, headers=again.headers)
            assert retried.status_code == 200
            time.sleep(1.5)  # what a second queued reply would need to go out
            check(api)
        finally:
            close_app(app, services)


def check(api: FakeCarrierApi) -> None:
    first, second, *more = api.requests
    assert more == []  # one confirmation: the retried delivery queued nothing
    for sent in (first, second):
        assert (sent.method, sent.path) == ("POST", "/v2/messages")
        assert sent.headers["authorization"] == "Bearer KEY-test"
        body = sent.json()
        assert isinstance(body, dict)
        assert (body["from"], body["to"]) == (BUSINESS, CONTACT)
        assert "unsubscribed" in body["text"]
    assert first.headers.get("idempotency-key") == second.headers.get("idempotency-key")
