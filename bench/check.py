"""Send check: a million numbers against 100,000 opt-outs, by the service and over HTTP.

The floor is the same check written the shortest way, with no validation: one SQL query for
the opted-out numbers covering the sender (its own and the account's) and a set difference.
Targets: the service (validating every number) within 3× the floor; POST /v1/consent/check
through a real `stopline serve` within 3× the service; the worker's memory a few copies of
the input at most.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

from bench.common import Timing, heading, interleave, postgres_schema, ratio_line
from core.config import Settings
from core.model import CheckResult
from core.services import ConsentService
from ledger.adapter import SqlLedger
from ledger.db import Database
from ledger.tables import consent, contacts
from stopline.wiring import migrate

ROOT = Path(__file__).resolve().parent.parent
SENDER = "+12065550199"
OTHER_SENDER = "+12065550198"
API_TOKEN = "bench-check-token"
# Area codes whose every exchange 200-999 is valid in phonenumbers' data (verify() would
# report any number drawn from them that is not).
AREAS = ("206", "312", "415", "617", "212", "303")
PER_AREA = 800 * 10_000
# Planted invalid entries; the two +1 numbers are what a careless fast path would let through.
INVALID = ["+1206001234", "+12060012345", "+15555550100", "+1 206 555 O1OO", "", "nonsense",
           42, None, "+1206001234"]  # fmt: skip
MEMORY_COPIES = 4
FLOOR_SQL = text("SELECT contact FROM consent WHERE scope_key IN (:sender, '*') "
                 "AND status = 'opted_out'")  # fmt: skip


def _number(index: int) -> str:
    area, rest = divmod(index, PER_AREA)
    return f"+1{AREAS[area]}{200 + rest // 10_000}{rest % 10_000:04d}"


@dataclass
class Workload:
    """The input list, its JSON body, the ledger rows and what the answer must be."""

    phones: list[object]
    body: bytes
    rows: list[tuple[str, str, str]]  # (contact, scope_key, status)
    suppressed: set[str]
    sendable: set[str]
    formatted: list[object] = field(default_factory=list)


def make_workload(numbers: int, optouts: int, seed: int = 4) -> Workload:
    """~10% of the input opted out, 4% repeats, a few invalid; decoys that must not count."""
    rng = random.Random(seed)
    unique = int(numbers * 0.96) - len(INVALID)
    outside = optouts // 10  # opted out but not in the input
    drawn = [_number(i) for i in rng.sample(range(len(AREAS) * PER_AREA), unique + outside)]
    inputs, extra = drawn[:unique], drawn[unique:]
    other, resubscribed = optouts // 5, optouts // 20
    picked = rng.sample(inputs, optouts - outside + other + resubscribed)
    covered = picked[: optouts - outside] + extra
    half = len(covered) // 2
    rows = [(c, SENDER, "opted_out") for c in covered[:half]]
    rows += [(c, "*", "opted_out") for c in covered[half:]]
    # Decoys: another sender's opt-outs and this sender's re-subscriptions are sendable.
    decoys = picked[optouts - outside :]
    rows += [(c, OTHER_SENDER, "opted_out") for c in decoys[:other]]
    rows += [(c, SENDER, "subscribed") for c in decoys[other:]]
    phones: list[object] = [*inputs, *rng.choices(inputs, k=numbers - unique - len(INVALID))]
    phones += INVALID
    rng.shuffle(phones)
    suppressed = set(inputs) & set(covered)
    formatted: list[object] = [f"({p[2:5]}) {p[5:8]}-{p[8:]}" for p in inputs[: numbers // 10]]
    body = json.dumps({"sender": SENDER, "phones": phones}).encode()
    # As a caller has them: parsed in order, so the strings lie in memory in list order.
    phones = json.loads(body)["phones"]
    return Workload(phones, body, rows, suppressed, set(inputs) - suppressed, formatted)


def fill(url: str, rows: list[tuple[str, str, str]]) -> None:
    """Migrate the ledger and bulk-insert the opt-outs (setup, not measured)."""
    migrate(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    now = datetime.now(UTC)
    engine = create_engine(url)
    with engine.begin() as conn:
        phones = sorted({row[0] for row in rows})
        conn.execute(insert(contacts), [{"phone": p, "created_at": now} for p in phones])
        conn.execute(insert(consent), [
            {"contact": c, "scope_key": s, "status": st, "source": "import", "actor": "bench",
             "since": now} for c, s, st in rows
        ])  # fmt: skip
    engine.dispose()


@contextmanager
def ledgers(work: Workload, scratch: Path) -> Iterator[list[tuple[str, str]]]:
    """(name, url) of a filled SQLite ledger, and of a PostgreSQL one when reachable."""
    found = [("SQLite", f"sqlite:///{scratch / 'ledger.db'}")]
    with postgres_schema("bench_check") as pg:
        if pg is not None:
            found.append(("PostgreSQL", pg[0]))
        for _, url in found:
            fill(url, work.rows)
        yield found


class Server:
    """`stopline serve` (gunicorn, one worker so its memory is the request's) on 127.0.0.1."""

    def __init__(self, url: str, scratch: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("STOPLINE_", "TWILIO_"))}
        env.update(STOPLINE_DATABASE_URL=url, STOPLINE_RULES_PATH=str(ROOT / "rules.yml"),
                   STOPLINE_API_TOKEN=API_TOKEN, STOPLINE_LOG_LEVEL="WARNING",
                   PYTHONPATH=str(ROOT))  # fmt: skip
        self.port = _free_port()
        self.log = scratch / "serve.log"
        script = Path(sys.executable).parent / "stopline"
        command = [str(script)] if script.exists() else [sys.executable, "-m", "stopline"]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [*command, "serve", "--port", str(self.port), "--workers", "1"],
                cwd=scratch, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"stopline serve exited:\n{self.log.read_text()}")
            try:
                if self.request("GET", "/healthz", b"")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"stopline serve did not start:\n{self.log.read_text()}")

    def request(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        """One request; the whole answer is read."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        try:
            headers = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"}
            conn.request(method, path, body=body or None, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def worker_memory_mb(self) -> tuple[float, float]:
        """(current, peak) resident memory of the worker, in MB."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        (worker,) = children.read_text().split()
        status = dict(
            line.split(":", 1) for line in Path(f"/proc/{worker}/status").read_text().splitlines()
        )
        return (int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024)

    def stop(self) -> None:
        """Stop gunicorn and its worker (their own process group)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(timeout=5)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def verify(name: str, work: Workload, suppressed: Collection[object],
           sendable: Collection[object] | None, invalid: list[object] | None) -> None:  # fmt: skip
    """Every way of checking gives the same split (the floor cannot tell invalid numbers)."""
    problems = []
    if set(suppressed) != work.suppressed:
        problems.append("suppressed differs")
    if sendable is not None and set(sendable) != work.sendable:
        problems.append("sendable differs")
    if invalid is not None and Counter(map(repr, invalid)) != Counter(map(repr, INVALID)):
        problems.append(f"invalid differs: {invalid[:20]!r}")
    if any(len(group) != len(set(group)) for group in (suppressed, sendable or ())):
        problems.append("repeats in the answer")
    if problems:
        raise AssertionError(f"{name}: {'; '.join(problems)}")


def measure(name: str, url: str, work: Workload, scratch: Path, runs: int) -> None:
    """Floor, service and HTTP on one ledger, interleaved; then formatted numbers."""
    heading(f"check: {len(work.phones):,} numbers vs {len(work.suppressed):,} opted out "
            f"({len(work.rows):,} ledger rows), {name}")  # fmt: skip
    database = Database(url)
    service = ConsentService(SqlLedger(database), decider=None)  # type: ignore[arg-type]
    server = Server(url, scratch)
    last: dict[str, Any] = {}
    fresh: list[list[object]] = []

    def parse() -> None:
        # Each run gets the list as a request parses it: new strings, no hashes cached yet.
        fresh[:] = [json.loads(work.body)["phones"]]

    def floor() -> None:
        with database.engine.connect() as conn:
            blocked = set(conn.execute(FLOOR_SQL, {"sender": SENDER}).scalars())
        last["floor"] = set(fresh[0]) - blocked

    def check() -> None:
        last["service"] = service.check(SENDER, fresh[0])

    def over_http() -> None:
        last["http"] = server.request("POST", "/v1/consent/check", work.body)

    try:
        # Warm up both: the fast path's regexes are compiled on first use, once per process.
        service.check(SENDER, work.phones[:1000])
        server.request("POST", "/v1/consent/check", json.dumps(
            {"sender": SENDER, "phones": work.phones[:1000]}).encode())
        idle, _ = server.worker_memory_mb()
        subjects: dict[str, Callable[[], object]] = {
            "floor": floor, "service": check, "HTTP": over_http
        }  # fmt: skip
        timings = interleave(subjects, runs, setup=parse)
        _, peak = server.worker_memory_mb()
    finally:
        server.stop()
    verify("floor", work, set(fresh[0]) - last["floor"], None, None)
    result = last["service"]
    assert isinstance(result, CheckResult)
    verify("service", work, result.suppressed, result.sendable, result.invalid)
    status, answer = last["http"]
    if status != 200:
        raise AssertionError(f"HTTP: {status} {answer[:300]!r}")
    got = json.loads(answer)
    verify("HTTP", work, got["suppressed"], got["sendable"], got["invalid"])
    for timing in timings.values():
        print(f"  {timing.name:8} median {timing.median:.3f} s  ({timing.spread()})")
    print(ratio_line("service/floor", timings["service"], timings["floor"], 3))
    print(ratio_line("HTTP/service", timings["HTTP"], timings["service"], 3))
    parsed = sys.getsizeof(work.phones) + sum(sys.getsizeof(p) for p in work.phones)
    body_mb, parsed_mb = len(work.body) / 2**20, parsed / 2**20
    # "A few copies of the input": the input as the worker holds it, a list of Python strings
    # (each ~4× its JSON text); the growth over the JSON body is shown too.
    copies = (peak - idle) / parsed_mb
    verdict = "met" if copies <= MEMORY_COPIES else "MISSED"
    print(f"  worker memory: idle {idle:.0f} MB, peak {peak:.0f} MB, growth {peak - idle:.0f} MB "
          f"= {copies:.1f}× the input as Python objects ({parsed_mb:.0f} MB), "
          f"{(peak - idle) / body_mb:.1f}× its {body_mb:.1f} MB of JSON  "
          f"(target ≤ {MEMORY_COPIES}× the input: {verdict})")
    formatted(service, work, max(2, runs // 2))
    database.dispose()


def formatted(service: ConsentService, work: Workload, runs: int) -> None:
    """What numbers that are not canonical E.164 cost: each takes phonenumbers' full parse."""
    canonical = [f"+1{p[1:4]}{p[6:9]}{p[10:]}" for p in work.formatted]  # type: ignore[index]
    subjects: dict[str, Callable[[], object]] = {
        "formatted": lambda: service.check(SENDER, work.formatted),
        "canonical": lambda: service.check(SENDER, canonical),
    }
    timings: dict[str, Timing] = interleave(subjects, runs)
    per = timings["formatted"].median / len(work.formatted) * 1e6
    print(f"  {len(work.formatted):,} formatted numbers like {work.formatted[0]!r}: "
          f"{per:.1f} µs each (full parse)")  # fmt: skip
    print(ratio_line("formatted/canonical", timings["formatted"], timings["canonical"], None))


def run(quick: bool) -> None:
    """The send check benchmark (quick: 20,000 numbers vs 2,000 opt-outs, 2 runs)."""
    numbers, optouts, runs = (20_000, 2_000, 2) if quick else (1_000_000, 100_000, 5)
    started = time.perf_counter()
    work = make_workload(numbers, optouts)
    print(f"  workload built in {time.perf_counter() - started:.1f} s "
          f"({len(work.body) / 2**20:.1f} MB of JSON)")  # fmt: skip
    scratch = Path(tempfile.mkdtemp(prefix="stopline-bench-check-"))
    try:
        with ledgers(work, scratch) as found:
            for name, url in found:
                measure(name, url, work, scratch, runs)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
