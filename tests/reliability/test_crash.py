"""Crash under load: `stopline serve` (SQLite, 2 workers) is SIGKILLed while texts are in flight.

The client retries every text without a 2xx, as Twilio does, until the restarted server answers.
Afterwards: every acknowledged text is stored once, every acknowledged opt-out has exactly one
opt-out event, and the ledger equals a replay of the acknowledged texts through the rules.
SQLite in WAL mode with synchronous=NORMAL survives a process crash (not a power cut), which is
what this drill can test.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from bench.carrier_requests import ENVIRONMENT
from core.carrier_settings import CARRIER_NAMES
from ledger.tables import inbound_messages
from tests.conftest import RULES
from tests.integration.test_serve import start_server, stop
from tests.reliability.drill import (
    LoadClient,
    carrier_send,
    check_ledger,
    crash,
    sequences,
    serve_again,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
CONTACTS = 300
TEXTS_EACH = 6


def stored_before(url: str, sids: set[str], moment: float) -> int:
    """How many of these texts the server had stored from a request made before `moment`."""
    engine = create_engine(url)
    m = inbound_messages.c
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(m.message_id, m.received_at).where(m.message_id.in_(sids)))
            return sum(1 for _, at in rows if at.timestamp() < moment)
    finally:
        engine.dispose()


@pytest.mark.parametrize("carriers", [("twilio",), CARRIER_NAMES], ids=["twilio", "every carrier"])
def test_sigkill_mid_run_loses_and_duplicates_nothing(
    tmp_path: Path, carriers: tuple[str, ...]
) -> None:
    began = time.monotonic()
    # The killed master cannot remove its metrics directory; every carrier's door is on.
    env = {"TMPDIR": str(tmp_path), **ENVIRONMENT}
    server = start_server(tmp_path, **env)
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    contacts = sequences(CONTACTS, TEXTS_EACH, carriers=carriers)
    total = CONTACTS * TEXTS_EACH
    client = LoadClient(carrier_send(server), contacts, threads=4)
    try:
        client.start()
        assert client.wait_acknowledged(total // 3, timeout=60), client.figures()
        while (killed_at := client.moment_in_flight()) is None:  # kill with requests on their way
            time.sleep(0.001)
        crash(server)  # while the client threads keep sending
        acknowledged_at_kill = len(client.acknowledged)
        server = serve_again(server, tmp_path, **env)
        figures = client.join()
    finally:
        client.abort()  # when all went well, nothing is left to give up
        stop(server.process)

    attempts = client.attempts
    in_flight = [a for a in attempts if a.started <= killed_at < a.ended]
    cut_off = {a.sid for a in in_flight if not a.ok}
    answered_after = [a.ended for a in attempts if a.ok and a.started >= killed_at]
    report: dict[str, Any] = {
        "drill": f"sigkill under load (sqlite, 2 workers, {', '.join(carriers)})",
        **figures,
        "acknowledged_before_kill": acknowledged_at_kill,
        "failed_before_kill": sum(1 for a in attempts if not a.ok and a.ended < killed_at),
        "in_flight_at_kill": len(in_flight),
        "cut_off_at_kill": len(cut_off),
        "stored_before_kill_but_unanswered": stored_before(url, cut_off, killed_at),
        "errors_during_crash": sum(1 for a in attempts if not a.ok and a.ended >= killed_at),
        "seconds_without_answers": round(min(answered_after) - killed_at, 2),
        **check_ledger(client, url, tmp_path / "replay.db", RULES),
        "seconds": round(time.monotonic() - began, 1),
    }
    print("\nDRILL crash:", json.dumps(report, indent=1))
    (tmp_path / "crash_drill.json").write_text(json.dumps(report, indent=1))

    assert figures["acknowledged"] == total, report
    assert report["failed_before_kill"] == 0, report
    assert report["in_flight_at_kill"] > 0, report  # the kill landed while requests were on
    assert report["errors_during_crash"] > 0, report  # their way, and the client went on
    assert (report["lost"], report["duplicated"]) == (0, 0), report
    assert report["stored"] == total, report
    assert report["opt_outs_without_one_event"] == 0, report
    assert report["differing_from_replay"] == 0, report
    assert report["consent_equals_replay"], report
    assert report["wrong_replies"] == 0, report
