"""Bad rules at reload: rules.yml is replaced by broken files while texts keep coming.

`stopline serve` (SQLite, 2 workers) must keep the last good rules in every worker (old ones,
ones restarted by SIGHUP, one forked after another was SIGKILLed), honour every STOP, and show
the error on /healthz until a good file is back.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RULES
from tests.integration.test_serve import Server, start_server
from tests.integration.test_serve_workers import (
    families,
    get,
    new_workers,
    only,
    release,
    wait_for,
    workers,
)
from tests.reliability.drill import (
    LoadClient,
    Text,
    check_ledger,
    contact_phone,
    read_ledger,
    sequences,
    twilio_send,
    twiml_reply,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
REPLY = "You are unsubscribed and will receive no more messages."
GOOD_REPLY = REPLY + " Reply START to resubscribe."
GOOD = RULES.read_text(encoding="utf-8")
# Each broken file would also change the opt-out reply: a reply of it would show it in force.
BROKEN: dict[str, tuple[Callable[[str], str], str]] = {
    "yaml_syntax": (lambda text: text + "\nkeywords: [unclosed\n", "not valid YAML"),
    "schema": (
        lambda text: text.replace("intent: opt_in", "intent: subscribe", 1),
        "keywords.start_en.intent",
    ),
    "no_stop_floor": (
        lambda text: text.replace("words: [STOP, UNSUBSCRIBE,", "words: [UNSUBSCRIBE,"),
        "legal floor",
    ),
}


def health(server: Server) -> tuple[int, dict[str, Any]]:
    status, body = get(server, "/healthz")
    return status, json.loads(body)


def failed_within(client: LoadClient, windows: list[tuple[float, float]]) -> dict[str, int]:
    """Failed attempts answered (or cut off) within these time.time() windows, by kind."""
    found: dict[str, int] = {}
    for a in client.attempts:
        if not a.ok and any(start <= a.ended <= end for start, end in windows):
            found[a.kind] = found.get(a.kind, 0) + 1
    return found


class Probe:
    """STOPs sent to one worker at a time (the load paused), each checked for the good reply."""

    def __init__(self, server: Server, client: LoadClient) -> None:
        self.server, self.client = server, client
        self.texts: list[Text] = []

    def each_worker(self, pids: set[int], version: str, error: str | None) -> list[int]:
        """Every worker: the good rules' version and `error` on /healthz, and a STOP honoured."""
        statuses = []
        self.client.pause()  # nothing in flight: a paused worker holds no write lock
        try:
            for pid in sorted(pids):
                with only(self.server, pid):
                    wait_for(f"worker {pid}: rules {version[:12]}, error {error!r} on /healthz",
                             lambda: self.shows(version, error), self.server)  # fmt: skip
                    statuses.append(health(self.server)[0])
                    self.stop()
        finally:
            self.client.resume()
        return statuses

    def shows(self, version: str, error: str | None) -> bool:
        """/healthz shows these rules in force and this error (None: no error)."""
        rules = health(self.server)[1]["rules"]
        if error is None:
            return bool(rules["version"] == version and rules["last_error"] is None)
        last = rules["last_error"] or ""
        return rules["version"] == version and error in last and "rules.yml" in last

    def stop(self) -> Text:
        n = len(self.texts)
        text = Text(f"SM{n:032d}", contact_phone(9000 + n), "STOP")
        status, body = twilio_send(self.server)(text)
        assert (status, twiml_reply(body)) == (200, GOOD_REPLY), body
        self.texts.append(text)
        return text


def test_broken_rules_under_load_keep_the_last_good_rules(tmp_path: Path) -> None:
    began = time.monotonic()
    rules = tmp_path / "rules.yml"
    rules.write_text(GOOD, encoding="utf-8")
    server = start_server(
        tmp_path,
        STOPLINE_RULES_PATH=str(rules),
        STOPLINE_RULES_RELOAD_INTERVAL="0.2",
        TMPDIR=str(tmp_path),
    )
    status, body = health(server)
    version = body["rules"]["version"]
    assert (status, body["rules"]["last_error"]) == (200, None)
    client = LoadClient(twilio_send(server), sequences(600, 10, first=3000), threads=4)
    probe = Probe(server, client)
    phases: dict[str, Any] = {}
    hup_windows: list[tuple[float, float]] = []  # from each SIGHUP until both workers were new
    try:
        client.start()
        for name, (breaks, error) in BROKEN.items():
            assert client.wait_acknowledged(len(client.acknowledged) + 50), client.figures()
            renamed = GOOD.replace(REPLY, f"Broken rules {name}.")
            broken = breaks(renamed)
            assert broken != renamed and REPLY not in broken
            saved = time.monotonic()
            rules.write_text(broken, "utf-8")  # in place: a worker may even read half of it
            wait_for(f"/healthz to show {error!r}", partial(probe.shows, version, error), server)
            shown_after = round(time.monotonic() - saved, 2)
            shown = health(server)
            old = workers(server.process.pid)
            os.kill(server.process.pid, signal.SIGHUP)  # workers restarted from the master
            hup, hup_at = time.monotonic(), time.time()
            replaced = new_workers(server, old)
            restarted_after = round(time.monotonic() - hup, 2)
            hup_windows.append((hup_at, time.time()))
            statuses = probe.each_worker(replaced, version, error)
            phases[name] = {
                "seconds_until_healthz_shows_it": shown_after,
                "healthz_status": shown[0],
                "healthz_body_status": shown[1]["status"],
                "healthz_rules_error": shown[1]["rules"]["last_error"],
                "seconds_until_sighup_replaced_workers": restarted_after,
                "healthz_statuses_after_sighup": statuses,
            }
        # A worker dies while the file is broken: its replacement has the last good rules.
        victim = max(workers(server.process.pid))
        while (killed_at := client.moment_in_flight()) is None:  # texts on their way
            time.sleep(0.001)
        os.kill(victim, signal.SIGKILL)
        replaced = new_workers(server, {victim})
        kill_window = (killed_at, time.time())
        probe.each_worker(replaced, version, BROKEN["no_stop_floor"][1])
        info = families(server)["stopline_rules_info"].samples
        assert {(s.labels["pid"], s.labels["version"]) for s in info} == {
            (str(pid), version) for pid in replaced
        }
        rules.write_text(GOOD, encoding="utf-8")  # the good file back: the error clears
        probe.each_worker(replaced, version, None)
        cleared = health(server)
        client.stop()
        figures = client.join()
    finally:
        client.abort()  # when all went well, nothing is left to give up
        release(server)

    url = f"sqlite:///{tmp_path / 'serve.db'}"
    probes = read_ledger(url, {t.contact for t in probe.texts})
    report: dict[str, Any] = {
        "drill": "broken rules.yml under load (sqlite, 2 workers)",
        **figures,
        "phases": phases,
        "failed_during_sighup_restarts": failed_within(client, hup_windows),
        "failed_when_a_worker_was_killed": failed_within(client, [kill_window]),
        "healthz_after_restore": [cleared[0], cleared[1]["status"]],
        "probe_stops": len(probe.texts),
        "probe_stops_opted_out": sum(
            1 for t in probe.texts if [e[1] for e in probes.events.get(t.sid, [])] == ["opt_out"]
        ),
        **check_ledger(client, url, tmp_path / "replay.db", RULES),
        "seconds": round(time.monotonic() - began, 1),
    }
    print("\nDRILL bad rules:", json.dumps(report, indent=1))
    (tmp_path / "bad_rules_drill.json").write_text(json.dumps(report, indent=1))

    # Only the killed worker's requests may go unanswered: no error status ever, and a
    # SIGHUP's graceful restart drops nothing.
    assert figures["failures_by_kind"] == report["failed_when_a_worker_was_killed"], report
    assert not figures["unacknowledged_after_sending"], report
    assert report["probe_stops_opted_out"] == report["probe_stops"], report
    assert (report["lost"], report["duplicated"]) == (0, 0), report
    assert report["stored"] == figures["acknowledged"], report
    assert report["opt_outs_without_one_event"] == 0, report
    # The replay uses the good rules: every decision was theirs, version included.
    assert report["differing_from_replay"] == 0, report
    assert report["consent_equals_replay"], report
    assert report["wrong_replies"] == 0, report
    assert cleared[0] == 200 and cleared[1]["rules"]["last_error"] is None, report
