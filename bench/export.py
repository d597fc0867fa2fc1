"""Export: a million opted-out contacts to CSV, against the databases' own command-line CSV.

SQLite: `stopline export` and GET /v1/optouts against the `sqlite3` shell's `-csv` output of
the same rows in the same order; target within 3.5× the shell. PostgreSQL: the same two
against psql's `\\copy` of the very query stopline's COPY runs; target within 1.5× psql.
`stopline export` is a new process each run (its start-up counts, as for the shell); the API
is a real `stopline serve` (one worker) started once, timed from request to last byte read
over HTTP. The stopline process must stay under 150 MB of resident memory.
"""

from __future__ import annotations

import filecmp
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.common import POSTGRES_URL, heading, interleave, postgres_schema, ratio_line
from core.config import Settings
from ledger.export import postgres_columns
from stopline.wiring import migrate

ROOT = Path(__file__).resolve().parent.parent
SENDER = "+12065550199"
API_TOKEN = "bench-export-token"
TARGET_SQLITE, TARGET_POSTGRES, MEMORY_TARGET_MB = 3.5, 1.5, 150
ORDER = "ORDER BY since, contact, scope_key"  # the export's order, for the baselines too
RAW_COLUMNS = "contact, scope_key, source, actor, since, message_text, keyword, rule, reason"

# One opt-out in ten is made by an agent with a free-text reason; a few of those reasons
# need quoting or neutralising, as real notes do. A tenth of the rows are re-subscriptions
# the export must skip.
SQLITE_FILL = """
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :rows - 1)
INSERT INTO consent (contact, scope_key, status, source, actor, since, rule, keyword,
                     message_text, reason)
SELECT printf('+1206%07d', i),
       CASE WHEN i % 3 = 0 THEN '*' ELSE :sender END,
       CASE WHEN i % 10 = 9 THEN 'subscribed' ELSE 'opted_out' END,
       CASE WHEN i % 10 = 4 THEN 'agent' ELSE 'contact' END,
       CASE WHEN i % 10 = 4 THEN 'slack:T0001:U0' || (i % 7) ELSE 'twilio' END,
       strftime('%Y-%m-%d %H:%M:%S', 1735689600 + i * 29, 'unixepoch')
         || CASE WHEN i % 20 = 0 THEN '.000000' ELSE printf('.%06d', (i * 7919) % 1000000) END,
       CASE WHEN i % 10 = 4 THEN 'command_opt_out' ELSE 'stop_keyword' END,
       CASE WHEN i % 10 = 4 THEN NULL ELSE 'STOP' END,
       CASE WHEN i % 10 = 4 THEN NULL WHEN i % 50 = 7 THEN 'Stop texting me, "please"'
            ELSE 'STOP' END,
       CASE WHEN i % 10 <> 4 THEN NULL WHEN i % 100 = 14 THEN '=HYPERLINK("x")'
            WHEN i % 100 = 24 THEN 'asked on a call,' || char(10) || 'twice'
            ELSE 'asked on a call' END
FROM n
"""
POSTGRES_FILL = """
INSERT INTO consent (contact, scope_key, status, source, actor, since, rule, keyword,
                     message_text, reason)
SELECT '+1206' || lpad(i::text, 7, '0'),
       CASE WHEN i % 3 = 0 THEN '*' ELSE :sender END,
       CASE WHEN i % 10 = 9 THEN 'subscribed' ELSE 'opted_out' END,
       CASE WHEN i % 10 = 4 THEN 'agent' ELSE 'contact' END,
       CASE WHEN i % 10 = 4 THEN 'slack:T0001:U0' || (i % 7) ELSE 'twilio'
            END,
       to_timestamp(1735689600 + i * 29)
         + CASE WHEN i % 20 = 0 THEN interval '0' ELSE ((i * 7919) % 1000000) * interval '1 us'
           END,
       CASE WHEN i % 10 = 4 THEN 'command_opt_out' ELSE 'stop_keyword' END,
       CASE WHEN i % 10 = 4 THEN NULL ELSE 'STOP' END,
       CASE WHEN i % 10 = 4 THEN NULL WHEN i % 50 = 7 THEN 'Stop texting me, "please"'
            ELSE 'STOP' END,
       CASE WHEN i % 10 <> 4 THEN NULL WHEN i % 100 = 14 THEN '=HYPERLINK("x")'
            WHEN i % 100 = 24 THEN 'asked on a call,' || chr(10) || 'twice'
            ELSE 'asked on a call' END
FROM generate_series(0::bigint, :rows - 1) AS i
"""


def fill(url: str, rows: int) -> None:
    """Migrate the ledger and insert `rows` consent rows in one statement (setup, not timed)."""
    migrate(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    engine = create_engine(url)
    fill_sql = SQLITE_FILL if url.startswith("sqlite") else POSTGRES_FILL
    with engine.begin() as conn:
        conn.execute(text(fill_sql), {"rows": rows, "sender": SENDER})
        if not url.startswith("sqlite"):
            conn.execute(text("ANALYZE consent"))
    engine.dispose()


@dataclass
class Child:
    """What the runs of one command cost: the slowest peak memory and each run's CPU time."""

    peak_mb: float = 0.0
    cpu: list[float] = field(default_factory=list)

    def run(self, command: list[str], out: Path, env: dict[str, str] | None = None) -> None:
        """Run the command with its standard output going to `out`; it must succeed."""
        errors = out.with_suffix(".stderr")
        peak_kb = 0
        with out.open("wb") as handle, errors.open("wb") as stderr:
            process = subprocess.Popen(command, stdout=handle, stderr=stderr, env=env)
            # wait4 gives this child's own CPU time. Its ru_maxrss would not do for memory:
            # Linux counts the parent's peak in it at exec, so the peak is read from /proc.
            while True:
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    break
                peak_kb = max(peak_kb, _vm_hwm_kb(process.pid))
                time.sleep(0.02)
            process.returncode = code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise RuntimeError(f"{command[0]} failed ({code}): {errors.read_text()[-2000:]}")
        self.peak_mb = max(self.peak_mb, peak_kb / 1024)
        self.cpu.append(usage.ru_utime + usage.ru_stime)

    def cpu_median(self) -> float:
        """The median CPU time of a run, in seconds."""
        return statistics.median(self.cpu)


def _vm_hwm_kb(pid: int) -> int:
    """A live process's peak resident memory (VmHWM) in kB; 0 once it has exited."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0  # a zombie has no memory left to show


def stopline_command() -> list[str]:
    """The installed `stopline` script beside this Python, or `python -m stopline`."""
    script = Path(sys.executable).parent / "stopline"
    return [str(script)] if script.exists() else [sys.executable, "-m", "stopline"]


def stopline_env(url: str) -> dict[str, str]:
    """The environment of a stopline process on this ledger (no settings from the caller's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STOPLINE_", "TWILIO_"))}
    env.update(STOPLINE_DATABASE_URL=url, STOPLINE_RULES_PATH=str(ROOT / "rules.yml"),
               STOPLINE_API_TOKEN=API_TOKEN, STOPLINE_LOG_LEVEL="WARNING",
               PYTHONPATH=str(ROOT))  # fmt: skip
    return env


class Server:
    """`stopline serve` with one worker (so its memory is the export's), on 127.0.0.1."""

    def __init__(self, url: str, scratch: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.log = scratch / "serve.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [*stopline_command(), "serve", "--port", str(self.port), "--workers", "1"],
                cwd=scratch, env=stopline_env(url), stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while not self._healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"stopline serve did not start:\n{self.log.read_text()}")
            time.sleep(0.2)

    def _healthy(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except OSError:
            return False

    def download(self, out: Path) -> None:
        """GET /v1/optouts into a file, read as it streams."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        try:
            conn.request("GET", "/v1/optouts", headers={"Authorization": f"Bearer {API_TOKEN}"})
            response = conn.getresponse()
            if response.status != 200:
                raise RuntimeError(f"GET /v1/optouts: {response.status} {response.read(500)!r}")
            with out.open("wb") as handle:
                while block := response.read(1 << 20):
                    handle.write(block)
        finally:
            conn.close()

    def worker_peak_mb(self) -> float:
        """The worker's peak resident memory, in MB."""
        pid = self.process.pid
        (worker,) = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return _vm_hwm_kb(int(worker)) / 1024

    def stop(self) -> None:
        """Stop gunicorn and its worker (their own process group)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _memory_line(label: str, peak_mb: float) -> str:
    verdict = "met" if peak_mb < MEMORY_TARGET_MB else "MISSED"
    return f"  peak memory, {label}: {peak_mb:.0f} MB (target < {MEMORY_TARGET_MB} MB: {verdict})"


def _cpu_line(label: str, subject: Child, baseline: Child) -> str:
    ratio = subject.cpu_median() / baseline.cpu_median()
    return (
        f"  CPU time (median), {label}: {subject.cpu_median():.3f} s vs "
        f"{baseline.cpu_median():.3f} s = {ratio:.2f}× (steadier than wall time on a busy machine)"
    )


def bench_sqlite(scratch: Path, optouts: int, runs: int) -> None:
    """The sqlite3 shell against `stopline export` and GET /v1/optouts on one ledger."""
    url = f"sqlite:///{scratch / 'ledger.db'}"
    started = time.perf_counter()
    fill(url, -(-optouts * 10 // 9))
    print(f"  ledger: {optouts:,} opt-outs and {optouts // 9:,} re-subscriptions "
          f"({time.perf_counter() - started:.0f} s to build)")  # fmt: skip
    query = f"SELECT {RAW_COLUMNS} FROM consent WHERE status = 'opted_out' {ORDER}"
    shell, cli = Child(), Child()
    outputs = {name: scratch / f"{name}.csv" for name in ("shell", "cli", "api")}
    server = Server(url, scratch)
    try:
        timings = interleave(
            {
                "sqlite3 -csv": lambda: shell.run(
                    ["sqlite3", "-csv", "-header", str(scratch / "ledger.db"), query],
                    outputs["shell"],
                ),
                "stopline export": lambda: cli.run(
                    [*stopline_command(), "export"], outputs["cli"], stopline_env(url)
                ),
                "GET /v1/optouts": lambda: server.download(outputs["api"]),
            },
            runs,
        )
        worker_mb = server.worker_peak_mb()
    finally:
        server.stop()
    if not filecmp.cmp(outputs["cli"], outputs["api"], shallow=False):
        raise RuntimeError("stopline export and GET /v1/optouts wrote different files")
    sizes = ", ".join(
        f"{name} {path.stat().st_size / 1e6:.1f} MB" for name, path in outputs.items()
    )
    print(f"  files: {sizes}")
    base = timings["sqlite3 -csv"]
    print(ratio_line("stopline export", timings["stopline export"], base, TARGET_SQLITE))
    print(ratio_line("GET /v1/optouts", timings["GET /v1/optouts"], base, TARGET_SQLITE))
    print(_cpu_line("stopline export vs sqlite3", cli, shell))
    print(_memory_line("stopline export", cli.peak_mb))
    print(_memory_line("stopline serve worker after the downloads", worker_mb))


def bench_postgresql(scratch: Path, optouts: int, runs: int) -> None:
    """psql's \\copy against `stopline export` (COPY through psycopg) on one PG ledger."""
    with postgres_schema() as found:
        if found is None:
            return
        url, schema = found
        started = time.perf_counter()
        fill(url, -(-optouts * 10 // 9))
        print(f"  ledger: {optouts:,} opt-outs ({time.perf_counter() - started:.0f} s to build)")
        where = make_url(POSTGRES_URL)
        env = {**os.environ, "PGOPTIONS": f"-csearch_path={schema}"}
        if where.password:
            env["PGPASSWORD"] = str(where.password)
        # The very query stopline's COPY runs: the difference is the client alone.
        copy = (
            f"\\copy (SELECT {postgres_columns()} FROM consent WHERE status = 'opted_out' "
            f"{ORDER}) TO STDOUT WITH (FORMAT csv)"
        )
        psql_command = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                        "-h", where.host or "127.0.0.1", "-p", str(where.port or 5432),
                        "-U", where.username or "postgres", "-d", where.database or "postgres",
                        "-c", copy]  # fmt: skip
        psql, cli = Child(), Child()
        server = Server(url, scratch)
        try:
            timings = interleave(
                {
                    "psql \\copy": lambda: psql.run(psql_command, scratch / "psql.csv", env),
                    "stopline export": lambda: cli.run(
                        [*stopline_command(), "export"], scratch / "pg-cli.csv", stopline_env(url)
                    ),
                    "GET /v1/optouts": lambda: server.download(scratch / "pg-api.csv"),
                },
                runs,
            )
            worker_mb = server.worker_peak_mb()
        finally:
            server.stop()
    if not filecmp.cmp(scratch / "pg-cli.csv", scratch / "pg-api.csv", shallow=False):
        raise RuntimeError("stopline export and GET /v1/optouts wrote different files")
    base = timings["psql \\copy"]
    print(ratio_line("stopline export", timings["stopline export"], base, TARGET_POSTGRES))
    print(ratio_line("GET /v1/optouts", timings["GET /v1/optouts"], base, TARGET_POSTGRES))
    print(_cpu_line("stopline export vs psql", cli, psql))
    print(_memory_line("stopline export", cli.peak_mb))
    print(_memory_line("stopline serve worker after the downloads", worker_mb))


def run(quick: bool) -> None:
    """Export benchmark: SQLite (shell, CLI, HTTP) and PostgreSQL (psql, CLI)."""
    optouts, runs = (20_000, 2) if quick else (1_000_000, 5)
    scratch = Path(tempfile.mkdtemp(prefix="stopline-bench-export-"))
    try:
        heading(f"Export: {optouts:,} opted-out contacts to CSV, SQLite (medians of {runs})")
        if quick:
            print("  quick: at this size the CLI's start-up (about a second) is most of its time;")
            print("  the targets are for the full run")
        if shutil.which("sqlite3") is None:
            print("  skipped: the sqlite3 shell is not installed (apt-get install sqlite3)")
        else:
            bench_sqlite(scratch, optouts, runs)
        heading(f"Export: {optouts:,} opted-out contacts to CSV, PostgreSQL (medians of {runs})")
        if shutil.which("psql") is None:
            print("  skipped: psql is not installed (apt-get install postgresql-client)")
        else:
            bench_postgresql(scratch, optouts, runs)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
