"""Drill: `stopline serve` is SIGKILLed after a STOP's confirmation was queued, before it went out.

Telnyx's API (a fake on 127.0.0.1) is down at first: the worker's attempt fails and the reply
waits in the outbox, committed with the opt-out. The server is killed (master and workers at
once), Telnyx comes back, the server starts again on the same ledger: the confirmation goes out
after the restart, exactly once, to the right number, with the key of every earlier attempt.
"""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import pytest

from bench.carrier_requests import ENVIRONMENT, telnyx
from tests.fakecarrierapi import Answer, fake_carrier_api
from tests.integration.test_serve import SENDER, consent, start_server, stop
from tests.reliability.drill import crash, serve_again

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
CONTACT = "+12065550164"
SID = "5d3b1c9e-8f0a-4b6e-9c1d-2a7f3e4b5c6d"


def wait_for(condition: object, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return bool(condition())  # type: ignore[operator]


def test_a_confirmation_queued_before_a_kill_goes_out_once_after_the_restart(
    tmp_path: Path,
) -> None:
    down = [Answer(503, '{"errors": [{"title": "Service unavailable"}]}')] * 50
    with fake_carrier_api(*down) as api:
        env = {**ENVIRONMENT, "TMPDIR": str(tmp_path), "TELNYX_API_KEY": "KEY-drill",
               "TELNYX_API_URL": api.url + "/v2/"}  # fmt: skip
        server = start_server(tmp_path, **env)
        try:
            made = telnyx(server.base, SID, CONTACT, SENDER, "STOP")
            request = urllib.request.Request(server.base + made.path, data=made.body,
                                             headers=made.headers, method="POST")  # fmt: skip
            with urllib.request.urlopen(request, timeout=10) as answer:
                assert answer.status == 200
            assert wait_for(lambda: len(api.requests) >= 1, 20), server.output()[-3000:]
            time.sleep(0.3)  # the failed attempt recorded: the reply waits for its retry
            crash(server)
            failed_before = len(api.requests)
            api.script.clear()  # Telnyx is back: 202 from now on
            server = serve_again(server, tmp_path, **env)
            assert wait_for(lambda: len(api.requests) > failed_before, 60), server.output()[-3000:]
            time.sleep(3)  # what a second send would need
            status = consent(server, CONTACT, SENDER)
        finally:
            stop(server.process)
    sent = api.requests[failed_before:]
    assert len(sent) == 1, [r.path for r in api.requests]
    assert (sent[0].method, sent[0].path) == ("POST", "/v2/messages")
    body = sent[0].json()
    assert isinstance(body, dict) and (body["from"], body["to"]) == (SENDER, CONTACT)
    assert "unsubscribed" in body["text"]
    keys = {r.headers.get("idempotency-key") for r in api.requests}
    assert len(keys) == 1 and None not in keys  # the same key before and after the kill
    assert status["can_send"] is False
