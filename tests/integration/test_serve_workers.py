"""A real `stopline serve`, 2 workers: each keeps the last good rules; /metrics counts all.

Which worker answers is chosen by the kernel; to ask one worker, the others are paused (SIGSTOP)
so only it accepts connections.
"""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.test_serve import (
    ROOT,
    SENDER,
    Server,
    consent,
    message,
    post_twilio,
    sign,
    start_server,
    stop,
)

pytestmark = pytest.mark.slow
WAIT = 30.0
REPLY_A = "You are unsubscribed and will receive no more messages."
REPLY_B = "Rules B: you are unsubscribed, no more messages will be sent."


def workers(master: int) -> set[int]:
    """The live (not yet reaped) children of gunicorn's master."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # the name may hold spaces
        except (OSError, IndexError):
            continue
        if int(fields[1]) == master and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def wait_for(what: str, check: Callable[[], bool], server: Server) -> None:
    """Poll `check` until true; fail with the server's output after WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n{server.output()[-4000:]}")
        time.sleep(0.1)


def new_workers(server: Server, old: set[int]) -> set[int]:
    """Wait until gunicorn runs 2 workers, none of them in `old`; return them."""
    found: set[int] = set()

    def replaced() -> bool:
        nonlocal found
        found = workers(server.process.pid)
        return len(found) == 2 and not found & old

    wait_for("the workers to be replaced", replaced, server)
    time.sleep(0.5)  # let each finish booting before it is paused
    return found


@contextmanager
def only(server: Server, worker: int) -> Iterator[None]:
    """Pause every other worker, so `worker` answers every connection."""
    paused = workers(server.process.pid) - {worker}
    for pid in paused:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in paused:
            os.kill(pid, signal.SIGCONT)


def get(server: Server, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"{server.base}{path}", timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def families(server: Server) -> dict[str, Metric]:
    status, text = get(server, "/metrics")
    assert status == 200, text
    return {family.name: family for family in text_string_to_metric_families(text)}


def stop_reply(server: Server, contact: str) -> str:
    params = message("STOP", "SM" + contact[-10:].rjust(32, "0"), contact)
    status, body = post_twilio(server, params, sign(server, params))
    assert status == 200, body
    return body


def release(server: Server) -> None:
    """Resume any paused worker and stop the server."""
    for pid in workers(server.process.pid):
        os.kill(pid, signal.SIGCONT)
    stop(server.process)


def test_replaced_workers_keep_the_last_good_rules_not_the_first(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    text_a = (ROOT / "rules.yml").read_text(encoding="utf-8")
    assert REPLY_A in text_a
    rules.write_text(text_a, encoding="utf-8")
    server = start_server(
        tmp_path, STOPLINE_RULES_PATH=str(rules), STOPLINE_RULES_RELOAD_INTERVAL="0.1"
    )
    try:
        version_a = json.loads(get(server, "/healthz")[1])["rules"]["version"]
        changed = tmp_path / "rules.new"
        changed.write_text(text_a.replace(REPLY_A, REPLY_B), encoding="utf-8")
        changed.replace(rules)  # good rules B, saved in one step
        wait_for(
            "the master to load rules B",
            lambda: "master: new workers start with rules version" in server.output(),
            server,
        )
        version_b = json.loads(get(server, "/healthz")[1])["rules"]["version"]
        assert version_b != version_a
        assert f"new workers start with rules version {version_b}" in server.output()
        with rules.open("a", encoding="utf-8") as broken:
            broken.write("keywords: [unclosed\n")
        time.sleep(1.5)  # the workers and the master's loop see the broken file

        old = workers(server.process.pid)
        os.kill(server.process.pid, signal.SIGHUP)
        for restart in range(2):
            replaced = new_workers(server, old)
            for n, worker in enumerate(sorted(replaced)):
                with only(server, worker):
                    assert REPLY_B in stop_reply(server, f"+120655501{60 + 2 * restart + n}")
                    status, body = get(server, "/healthz")
                health = json.loads(body)["rules"]
                assert (status, health["version"]) == (200, version_b)
                assert health["last_error"] and "rules.yml" in health["last_error"]
            rows = families(server)["stopline_rules_info"].samples
            assert {(s.labels["pid"], s.labels["version"]) for s in rows} == {
                (str(pid), version_b) for pid in replaced
            }
            # Then a worker is killed: its replacement is forked with the same rules.
            old = {max(replaced)}
            os.kill(max(replaced), signal.SIGKILL)
        assert server.process.poll() is None, server.output()
    finally:
        release(server)


def consent_requests(metric: Metric) -> float:
    return sum(
        sample.value
        for sample in metric.samples
        if sample.name == "stopline_http_requests_total"
        and sample.labels["endpoint"] == "/v1/consent/<phone>"
        and sample.labels["status"] == "200"
    )


def consent_timed(family: Metric) -> float:
    """How many status lookups the latency histogram observed, over every worker."""
    return sum(
        sample.value
        for sample in family.samples
        if sample.name == "stopline_http_request_duration_seconds_count"
        and sample.labels["endpoint"] == "/v1/consent/<phone>"
    )


def test_metrics_count_every_workers_requests(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    try:
        first, second = sorted(new_workers(server, set()))  # both booted, not just one
        sent = {first: 7, second: 5}
        for offset, (worker, count) in zip((0, 50), sent.items(), strict=True):
            with only(server, worker):
                for n in range(count):
                    consent(server, f"+120655501{offset + n:02d}", SENDER)
        total = sum(sent.values())
        maps = Path(f"/proc/{first}/maps").read_text()
        [directory] = {Path(line.split()[-1]).parent for line in maps.splitlines()
                       if "stopline-metrics-" in line}  # fmt: skip
        # Whichever worker answers the scrape, the same totals: rate() sees no jumps.
        for scrape in (first, second, first, second):
            with only(server, scrape):
                metrics = families(server)
            assert consent_requests(metrics["stopline_http_requests"]) == total
            assert consent_timed(metrics["stopline_http_request_duration_seconds"]) == total
            pids = {s.labels["pid"] for s in metrics["stopline_rules_info"].samples}
            assert pids == {str(first), str(second)}
        # A dead worker's requests still count; its rules row goes with it.
        os.kill(first, signal.SIGKILL)
        [third] = new_workers(server, {first}) - {second}
        with only(server, third):
            metrics = families(server)
        assert consent_requests(metrics["stopline_http_requests"]) == total
        pids = {s.labels["pid"] for s in metrics["stopline_rules_info"].samples}
        assert pids == {str(second), str(third)}
        assert directory.is_dir()
    finally:
        release(server)
    assert not directory.exists()  # removed by the master when it stopped
