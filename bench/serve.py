"""Benchmark: the Twilio hook through a real `stopline serve` (gunicorn) under a concurrent client.

Requests per second and latency (p50, p99) on SQLite and PostgreSQL, against a bare Flask
app served by gunicorn the same way (bench/bare_app.py). The client runs in its own
processes on keep-alive connections, with every request signed before the clock starts.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select

from bench.common import Timing, heading, postgres_schema, ratio_line
from bench.signed import STOP_WORDS, body_text, twilio_mix
from core.config import Settings
from ledger.tables import consent, inbound_messages

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-serve-twilio-token"
# `stopline serve`'s gunicorn settings (stopline/server/gunicorn_app.py), given to the baseline too.
WORKERS = Settings.model_fields["workers"].default
WORKER_CLASS, THREADS = "gthread", 4
# Client: processes x threads, one keep-alive connection per thread.
CLIENT_PROCESSES, CLIENT_THREADS = 2, 6
WARM_UP = 60
START_TIMEOUT = 60.0


@dataclass
class Subject:
    """One running server and what was sent to it."""

    name: str
    base: str
    process: subprocess.Popen[bytes]
    log: Path
    database_url: str | None = None
    stops_sent: int = 0
    messages_sent: int = 0

    @property
    def hook(self) -> str:
        return f"{self.base}/webhooks/twilio"

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _stopline() -> list[str]:
    script = Path(sys.executable).parent / "stopline"
    return [str(script)] if script.exists() else [sys.executable, "-m", "stopline"]


def _environment(database_url: str) -> dict[str, str]:
    """Only the benchmark's settings: no developer .env (cwd is scratch), no stray STOPLINE_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STOPLINE_", "TWILIO_"))}
    env.update(
        STOPLINE_DATABASE_URL=database_url,
        STOPLINE_RULES_PATH=str(ROOT / "rules.yml"),
        TWILIO_AUTH_TOKEN=TOKEN,
        STOPLINE_API_TOKEN="bench-serve-api-token",
        PYTHONPATH=str(ROOT),
    )
    return env


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop gunicorn and its workers (their own process group)."""
    import signal

    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@contextmanager
def _server(
    name: str, command: list[str], cwd: Path, env: dict[str, str], database_url: str | None
) -> Iterator[Subject]:
    """Start a server on a free port, wait for /healthz, stop it afterwards."""
    port = _free_port()
    log = cwd / f"{name.replace(' ', '_')}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, *(["--port", str(port)] if database_url else [f"127.0.0.1:{port}"])],
            cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    subject = Subject(name, f"http://127.0.0.1:{port}", process, log, database_url)
    try:
        _wait_healthy(subject)
        yield subject
    finally:
        _stop(process)


def _wait_healthy(subject: Subject) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if subject.process.poll() is not None:
            raise RuntimeError(f"{subject.name} exited early:\n{subject.log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{subject.base}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{subject.name} not healthy in {START_TIMEOUT:g}s:\n{subject.log}")


def _stopline_server(name: str, url: str, scratch: Path) -> AbstractContextManager[Subject]:
    env = _environment(url)
    subprocess.run(
        [*_stopline(), "db", "upgrade"], cwd=scratch, env=env, check=True, capture_output=True
    )
    command = [*_stopline(), "serve", "--workers", str(WORKERS)]
    return _server(name, command, scratch, env, url)


def _bare_server(scratch: Path) -> AbstractContextManager[Subject]:
    command = [
        sys.executable, "-m", "gunicorn", "bench.bare_app:create_app()",
        "--workers", str(WORKERS), "--worker-class", WORKER_CLASS, "--threads", str(THREADS),
        "--preload", "--access-logfile", "-", "--error-logfile", "-", "--timeout", "30",
        "--no-control-socket", "--bind",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return _server("bare Flask", command, scratch, env, None)


@contextmanager
def _postgres_schema() -> Iterator[str | None]:
    """The URL of a fresh schema (dropped afterwards), or None when PostgreSQL is down."""
    with postgres_schema("bench_serve") as pg:
        yield pg[0] if pg is not None else None


@dataclass
class LoadResult:
    """One run of the client: every request's latency, the wall time, what went wrong."""

    latencies: list[float]
    elapsed: float
    failures: list[str]
    reconnects: int
    server_cpu: float = 0.0
    client_cpu: float = 0.0

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies)

    @property
    def p99(self) -> float:
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[98]


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _exchange(sock: socket.socket, request: bytes) -> tuple[int, bytes, bool]:
    """Send one request, read its whole answer: (status, body, connection kept open)."""
    sock.sendall(request)
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before an answer")
        buffer += chunk
    head, _, body = buffer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    fields = {
        k.strip().lower(): v.strip().lower() for k, _, v in (x.partition(b":") for x in lines[1:])
    }
    chunked = b"chunked" in fields.get(b"transfer-encoding", b"")
    length = int(fields.get(b"content-length", b"-1"))

    def incomplete() -> bool:
        if length >= 0:
            return len(body) < length
        return chunked and not body.endswith(b"0\r\n\r\n")

    while incomplete():
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed in the middle of an answer")
        body += chunk
    # Neither a length nor chunks: the answer ends when the server closes (not seen here).
    keep = fields.get(b"connection") != b"close" and (length >= 0 or chunked)
    return int(lines[0].split(b" ", 2)[1]), body, keep


def _client(port: int, wire: list[bytes], threads: int, go: Any, out: Any) -> None:
    """One client process: `threads` keep-alive connections sending `wire` as fast as answered."""
    sockets = [_connect(port) for _ in range(threads)]
    order = itertools.count()  # next() on a count is atomic under the GIL: a free work queue
    latencies: list[float] = []
    failures: list[str] = []
    reconnects, starts, ends = [0], [], []

    def worker(first: socket.socket) -> None:
        sock: socket.socket | None = first
        starts.append(time.perf_counter())
        while (index := next(order)) < len(wire):
            began = time.perf_counter()
            try:
                if sock is None:  # the server closed the last one
                    reconnects[0] += 1
                    sock = _connect(port)
                status, body, keep = _exchange(sock, wire[index])
            except OSError as error:  # counted like a non-2xx answer; the run goes on
                status, body, keep = 0, repr(error).encode(), False
            latencies.append(time.perf_counter() - began)
            if not 200 <= status < 300:
                failures.append(f"{status} {body[:160]!r}")
            if not keep and sock is not None:
                sock.close()
                sock = None
        ends.append(time.perf_counter())
        if sock is not None:
            sock.close()

    go.wait(timeout=60)
    pool = [threading.Thread(target=worker, args=(sock,)) for sock in sockets]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    out.put((latencies, min(starts), max(ends), failures, reconnects[0]))


def run_load(port: int, wire: list[bytes]) -> LoadResult:
    """Send every request from CLIENT_PROCESSES processes x CLIENT_THREADS connections."""
    context = multiprocessing.get_context("fork")  # this process has no threads to lose
    go, out = context.Barrier(CLIENT_PROCESSES + 1), context.Queue()
    clients = [
        context.Process(
            target=_client, args=(port, wire[i::CLIENT_PROCESSES], CLIENT_THREADS, go, out)
        )
        for i in range(CLIENT_PROCESSES)
    ]
    for client in clients:
        client.start()
    go.wait(timeout=60)  # every client connected; a client that could not breaks the barrier
    parts = [out.get(timeout=600) for _ in clients]
    for client in clients:
        client.join()
    # perf_counter is CLOCK_MONOTONIC: one clock for every process on the machine.
    return LoadResult(
        [latency for part in parts for latency in part[0]],
        max(part[2] for part in parts) - min(part[1] for part in parts),
        [failure for part in parts for failure in part[3]],
        sum(part[4] for part in parts),
    )


def _raw_requests(subject: Subject, n: int, seed: int) -> list[bytes]:
    """n signed requests as the bytes sent on the wire; counts the STOPs among them."""
    wire = []
    for body, headers in twilio_mix(n, subject.hook, TOKEN, seed):
        head = "".join(f"{key}: {value}\r\n" for key, value in headers.items())
        wire.append(
            f"POST /webhooks/twilio HTTP/1.1\r\nHost: 127.0.0.1:{subject.port}\r\n{head}"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        subject.stops_sent += body_text(body) in STOP_WORDS
    subject.messages_sent += n
    return wire


def _server_cpu(subject: Subject) -> float:
    """CPU seconds used so far by the server's master and workers (its process group)."""
    ticks = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # a process that ended while we looked
        fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
        if int(fields[2]) == subject.process.pid:  # pgrp; utime and stime follow at 11, 12
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    """CPU seconds of this process's waited-for children: the client processes."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _send(subject: Subject, wire: list[bytes]) -> LoadResult:
    cpu, client = _server_cpu(subject), _children_cpu()
    result = run_load(subject.port, wire)
    result.server_cpu = _server_cpu(subject) - cpu
    result.client_cpu = _children_cpu() - client
    if result.failures:
        print(
            f"  {subject.name}: {len(result.failures)} non-2xx answers, e.g. {result.failures[:3]}"
        )
    return result


def _sanity(subject: Subject) -> str:
    """Opt-outs and messages stored against what was sent."""
    assert subject.database_url is not None
    engine = create_engine(subject.database_url)
    try:
        with engine.connect() as conn:
            opted_out = conn.scalar(
                select(func.count()).select_from(consent).where(consent.c.status == "opted_out")
            )
            messages = conn.scalar(select(func.count()).select_from(inbound_messages))
    finally:
        engine.dispose()
    ok = opted_out == subject.stops_sent and messages == subject.messages_sent
    return (
        f"  sanity {subject.name}: {opted_out} opt-outs stored for {subject.stops_sent} STOPs "
        f"sent, {messages} messages stored of {subject.messages_sent} "
        f"({'ok' if ok else 'MISMATCH'})"
    )


def _median(results: list[LoadResult], value: Callable[[LoadResult], float]) -> float:
    return statistics.median(value(result) for result in results)


def _summary(name: str, results: list[LoadResult]) -> str:
    """One subject's medians: rate, latencies, CPU per request on each side, what went wrong."""
    bad = sum(len(r.failures) for r in results)
    reconnects = sum(r.reconnects for r in results)
    return (
        f"  {name:<20} {_median(results, lambda r: r.rate):5.0f} req/s   "
        f"p50 {_median(results, lambda r: r.p50) * 1000:5.1f} ms   "
        f"p99 {_median(results, lambda r: r.p99) * 1000:6.1f} ms   "
        f"max {_median(results, lambda r: max(r.latencies)) * 1000:6.0f} ms   "
        f"non-2xx {bad}   reconnects {reconnects}\n"
        f"  {'':<20} CPU per request: server "
        f"{_median(results, lambda r: r.server_cpu / r.count) * 1000:4.2f} ms "
        f"(busy {_median(results, lambda r: r.server_cpu / r.elapsed):.2f} of "
        f"{os.cpu_count()} cores), client "
        f"{_median(results, lambda r: r.client_cpu / r.count) * 1000:4.2f} ms"
    )


def _ratios(subjects: list[Subject], results: dict[str, list[LoadResult]]) -> None:
    """bare req/s over stopline's (equal n: the ratio of wall times), and of server CPU."""
    bare = results[subjects[0].name]
    baseline = Timing(subjects[0].name, [r.elapsed for r in bare])
    bare_cpu = _median(bare, lambda r: r.server_cpu / r.count)
    for subject in subjects[1:]:
        mine = results[subject.name]
        timing = Timing(subject.name, [r.elapsed for r in mine])
        print(ratio_line(f"bare req/s ÷ {subject.name} req/s", timing, baseline, None))
        cpu = _median(mine, lambda r: r.server_cpu / r.count)
        print(
            f"  server CPU per request: {subject.name} {cpu * 1000:.2f} ms vs bare "
            f"{bare_cpu * 1000:.2f} ms = {cpu / bare_cpu:.1f}× (server CPU alone caps it near "
            f"{os.cpu_count() or 1:d} / {cpu * 1000:.2f} ms = {(os.cpu_count() or 1) / cpu:.0f} "
            f"req/s on an idle machine)"
        )


def run(quick: bool) -> None:
    """Print req/s and latency for bare Flask, stopline on SQLite and on PostgreSQL."""
    n, runs = (300, 1) if quick else (1500, 3)
    heading(
        f"serve: {n} signed Twilio requests a run (30% STOP, 10% START, 60% chat), through "
        f"gunicorn ({WORKERS} {WORKER_CLASS.rsplit('.', 1)[-1]} workers x {THREADS} threads); "
        f"{CLIENT_PROCESSES * CLIENT_THREADS} keep-alive connections from "
        f"{CLIENT_PROCESSES} client processes; medians of {runs} run(s)"
    )
    scratch = Path(tempfile.mkdtemp(prefix="stopline-bench-serve-"))
    try:
        with ExitStack() as stack:
            subjects = [stack.enter_context(_bare_server(scratch))]
            sqlite_url = f"sqlite:///{scratch / 'serve.db'}"
            subjects.append(
                stack.enter_context(_stopline_server("stopline SQLite", sqlite_url, scratch))
            )
            pg_url = stack.enter_context(_postgres_schema())
            if pg_url is not None:
                subjects.append(
                    stack.enter_context(_stopline_server("stopline PostgreSQL", pg_url, scratch))
                )
            # Every request signed before any clock starts; seed 0 warms each server up.
            warm = {s.name: _raw_requests(s, WARM_UP, 0) for s in subjects}
            wires = {
                s.name: [_raw_requests(s, n, seed) for seed in range(1, runs + 1)] for s in subjects
            }
            for subject in subjects:
                _send(subject, warm[subject.name])
            results: dict[str, list[LoadResult]] = {s.name: [] for s in subjects}
            for index in range(runs):  # interleaved, so drift hits every subject alike
                for subject in subjects:
                    results[subject.name].append(_send(subject, wires[subject.name][index]))
            for subject in subjects:
                print(_summary(subject.name, results[subject.name]))
            _ratios(subjects, results)
            for subject in subjects[1:]:
                print(_sanity(subject))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
