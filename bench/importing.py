"""Import: `stopline import` of a large opt-out list, rows per second, vs a raw bulk load.

The CSV (made under /tmp) looks like lists people bring: mostly E.164, some "(206) 555-0100"
and other national forms, a few international numbers, dates for some rows, a sender for some,
a few invalid rows, duplicates and empty rows. `stopline import FILE` runs as a child process
on a fresh migrated ledger (SQLite, then PostgreSQL), then again on the same ledger (re-import:
every row already opted out). Baselines load the same file into a bare table (no indexes,
no checks): the sqlite3 CLI's `.import --csv`, Python's csv + sqlite3 executemany, and psql's
`\\copy`. CPU is the child's own user+sys time (a loaded machine inflates wall time, not it).
STOPLINE_BENCH_IMPORT_ROWS overrides the number of rows.
"""

from __future__ import annotations

import csv
import itertools
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.common import POSTGRES_URL, Timing, heading, postgres_schema, ratio_line

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(tempfile.gettempdir()) / "stopline-bench-import"
SUMMARY = re.compile(r"(\d+) taken, (\d+) skipped \(already opted out\), (\d+) invalid")
AREAS = (206, 253, 360, 425, 509, 415, 510, 650, 408, 212, 646, 718, 917, 312, 773, 617, 303,
         503, 512, 713, 214, 305, 404, 602, 702)  # fmt: skip
SENDERS = ("+12065550199", "12345", "(415) 555-0142")
DATES = ("2024-03-05", "2023-11-20T14:03:00Z", "2025-01-02 09:15:00", "2024-06-30T08:00:00-07:00")
INVALID = ("n/a", "unknown", "206-555", "+1206001234", "+1 (206) 055-0100", "555-0100",
           "12065550100000000", "call me")  # fmt: skip
# 100 exchanges with no N11 code and no 555 (only 555-01xx is set aside for fiction)
EXCHANGES = tuple(e for e in range(200, 1000) if e % 100 != 11 and e != 555)[:100]
REASONS = ("complained", "old list", "asked on a call", "from the 2023 CRM export, per legal")


@dataclass(frozen=True)
class Expected:
    """What the file holds and what an import of it must report."""

    formats: dict[str, int]
    first: tuple[int, int, int]  # (taken, skipped, invalid) on an empty ledger
    reimport: tuple[int, int, int]  # the same file again: every valid row already opted out

    def describe(self) -> str:
        """'rows: 78% E.164, ...' for the benchmark's header."""
        total = sum(self.formats.values())
        shares = sorted(self.formats.items(), key=lambda item: -item[1])
        return ", ".join(f"{n / total:.1%} {k}" for k, n in shares)


def _phone(rng: random.Random, number: int, foreign: Iterator[int]) -> tuple[str, str]:
    """(format, cell) for the number-th unique NANP number, or the next foreign one."""
    line, rest = number % 10_000, number // 10_000
    area, exchange = AREAS[rest % len(AREAS)], EXCHANGES[rest // len(AREAS)]
    roll = rng.random()
    if roll < 0.78:
        return "E.164", f"+1{area}{exchange}{line:04d}"
    if roll < 0.88:
        return "(206) 555-0100", f"({area}) {exchange}-{line:04d}"
    if roll < 0.93:
        dash = rng.choice("-.")
        return "206-555-0100", f"{area}{dash}{exchange}{dash}{line:04d}"
    if roll < 0.98:
        return "+1 206 555 0100", f"+1 {area} {exchange} {line:04d}"
    nth = next(foreign)
    if nth % 2:
        return "+44/+33 spaced", f"+44 7911 {nth // 2:06d}"
    return "+44/+33 spaced", "+33 6 " + " ".join(f"{nth // 2:08d}"[i : i + 2] for i in (0, 2, 4, 6))


def make_csv(path: Path, rows: int, seed: int = 5) -> Expected:
    """Write a `rows`-row opt-out list (header: phone,sender,opted_out_at,reason)."""
    rng = random.Random(seed)
    numbers = iter(rng.sample(range(len(AREAS) * len(EXCHANGES) * 10_000), rows))
    foreign = itertools.count()
    formats: dict[str, int] = {}
    valid = duplicates = invalid = 0
    written: list[tuple[str, str]] = []  # (phone, sender) of earlier rows, for duplicates
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(("phone", "sender", "opted_out_at", "reason"))
        for row in range(rows):
            roll = rng.random()
            sender = rng.choice(SENDERS) if rng.random() < 0.2 else ""
            date = rng.choice(DATES) if rng.random() < 0.3 else ""
            reason = rng.choice(REASONS) if rng.random() < 0.1 else ""
            if row % 10_000 == 7:  # a row left empty: neither taken nor invalid
                kind, cells = "empty row", ("", "", "", "")
            elif roll < 0.005:
                kind, cells = "invalid", (rng.choice(INVALID), sender, date, reason)
                invalid += 1
            elif roll < 0.015 and written:
                phone, sender = rng.choice(written)
                kind, cells = "duplicate", (phone, sender, date, reason)
                duplicates += 1
            else:
                kind, phone = _phone(rng, next(numbers), foreign)
                cells = (phone, sender, date, reason)
                written.append((phone, sender))
                valid += 1
            formats[kind] = formats.get(kind, 0) + 1
            out.writerow(cells)
    return Expected(formats, (valid, duplicates, invalid), (0, valid + duplicates, invalid))


def stopline_command() -> list[str]:
    """The venv's `stopline` script when installed, else `python -m stopline`."""
    script = Path(sys.executable).parent / "stopline"
    return [str(script)] if script.exists() else [sys.executable, "-m", "stopline"]


# A small launcher between the benchmark and each measured command: a child's peak RSS counts
# the memory of the process it was forked from (the benchmark holds ~100 MB), so the command
# is forked from this ~10 MB interpreter, which reports the command's own rusage.
LAUNCHER = """
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, use = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(f"{time.perf_counter() - start} {use.ru_utime + use.ru_stime} {use.ru_maxrss}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


@dataclass(frozen=True)
class Child:
    """A finished command: its wall time, CPU time and peak RSS, and its stdout."""

    seconds: float
    cpu: float
    rss_mb: float
    stdout: str


def child(command: list[str], env: dict[str, str], cwd: Path) -> Child:
    """Run a command to its end through the launcher and measure it; raise when it fails."""
    out, err, usage = cwd / "stdout.txt", cwd / "stderr.txt", cwd / "rusage.txt"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        code = subprocess.call([sys.executable, "-S", "-c", LAUNCHER, str(usage), *command],
                               env=env, cwd=cwd, stdout=stdout, stderr=stderr)
    if code != 0:
        tail = err.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{' '.join(command[-3:])} exited {code}:\n{tail}")
    seconds, cpu, rss_kb = (float(n) for n in usage.read_text().split())
    return Child(seconds, cpu, rss_kb / 1024, out.read_text(errors="replace"))


def environment(url: str) -> dict[str, str]:
    """The child's settings: this ledger, the shipped rules, no stray STOPLINE_* of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STOPLINE_", "TWILIO_"))}
    env.update(STOPLINE_DATABASE_URL=url, STOPLINE_RULES_PATH=str(ROOT / "rules.yml"))
    return env


def migrate_ledger(url: str) -> None:
    """A fresh ledger's schema, made in this process (not timed)."""
    from core.config import Settings
    from stopline.wiring import migrate

    migrate(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]


def summary(stdout: str) -> tuple[int, int, int]:
    """(taken, skipped, invalid) from the import's last line."""
    found = SUMMARY.search(stdout)
    if found is None:
        raise RuntimeError(f"no summary line in the import's output: {stdout[-500:]!r}")
    taken, skipped, invalid = (int(n) for n in found.groups())
    return taken, skipped, invalid


class Runs:
    """Wall times, CPU times and peak memory per subject, collected over several runs."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}
        self.rss: dict[str, float] = {}
        self.counts: dict[str, tuple[int, int, int]] = {}

    def add(self, name: str, seconds: float, done: Child | None = None) -> None:
        """One run of `name`: its wall time, and the child's CPU and memory if it was one."""
        self.times.setdefault(name, []).append(seconds)
        if done is not None:
            self.cpu.setdefault(name, []).append(done.cpu)
            self.rss[name] = max(self.rss.get(name, 0.0), done.rss_mb)

    def timing(self, name: str) -> Timing:
        """The wall-time Timing of `name`."""
        return Timing(name, self.times[name])


def import_twice(runs: Runs, label: str, url: str, file: Path, cwd: Path) -> None:
    """`stopline import FILE` on a fresh ledger, then again on the same ledger."""
    migrate_ledger(url)
    command = [*stopline_command(), "import", str(file)]
    for name in (f"{label} import", f"{label} re-import"):
        done = child(command, environment(url), cwd)
        runs.add(name, done.seconds, done)
        runs.counts[name] = summary(done.stdout)


def sqlite_round(runs: Runs, file: Path, cwd: Path) -> None:
    """One SQLite round: stopline twice, then the bare-table baselines."""
    for path in cwd.glob("*.db*"):
        path.unlink()
    import_twice(runs, "SQLite", f"sqlite:///{cwd / 'ledger.db'}", file, cwd)
    if shutil.which("sqlite3"):
        command = ["sqlite3", str(cwd / "cli.db"), f".import --csv {file} raw"]
        done = child(command, dict(os.environ), cwd)
        runs.add("sqlite3 CLI .import --csv", done.seconds, done)
    start = time.perf_counter()
    executemany(file, cwd / "py.db")
    runs.add("python csv + executemany", time.perf_counter() - start)


def executemany(file: Path, database: Path) -> None:
    """Python's floor: csv.reader rows straight into a bare SQLite table, one transaction."""
    with file.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        conn = sqlite3.connect(database)
        try:
            columns = ", ".join(f"c{i} TEXT" for i in range(len(header)))
            conn.execute(f"CREATE TABLE raw ({columns})")
            marks = ", ".join("?" * len(header))
            with conn:
                conn.executemany(f"INSERT INTO raw VALUES ({marks})", (r for r in reader if r))
        finally:
            conn.close()


def postgres_round(runs: Runs, file: Path, cwd: Path) -> None:
    """One PostgreSQL round in a fresh schema (dropped after): stopline twice, then psql \\copy."""
    from sqlalchemy.engine import make_url

    with postgres_schema("bench_import") as pg:
        if pg is None:
            return
        schema = pg[1]
        import_twice(runs, "PostgreSQL", pg[0], file, cwd)
        if shutil.which("psql"):
            url = make_url(POSTGRES_URL)
            dsn = (f"host={url.host} port={url.port or 5432} user={url.username} "
                   f"dbname={url.database} options=-csearch_path={schema}")
            env = {**os.environ, "PGPASSWORD": url.password or ""}
            command = ["psql", "-q", "-v", "ON_ERROR_STOP=1", dsn,
                       "-c", "CREATE TABLE raw (phone text, sender text, opted_out_at text, "
                       "reason text)",
                       "-c", f"\\copy raw FROM '{file}' WITH (FORMAT csv, HEADER true)"]
            done = child(command, env, cwd)
            runs.add("psql \\copy", done.seconds, done)


def postgres_reason() -> str | None:
    """None when the benchmark PostgreSQL answers, else why not."""
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {first}"


def report(runs: Runs, rows: int, expected: Expected) -> None:
    """Rows/s, CPU and peak RSS per subject, the import's counts, and ratios to the baselines."""
    print(f"  {'':<28} {'wall':>8}  {'rows/s':>9}  {'CPU s':>7}  {'rows/CPU s':>10}  "
          f"{'peak RSS':>8}")
    for name in runs.times:
        timing = runs.timing(name)
        cpu, per_cpu, rss = f"{'':7}", f"{'':10}", f"{'':8}"
        if name in runs.cpu:  # a child process: its own CPU (a PostgreSQL server's is not in it)
            seconds = statistics.median(runs.cpu[name])
            cpu, per_cpu = f"{seconds:7.2f}", f"{rows / seconds:>10,.0f}"
            rss = f"{runs.rss[name]:5.0f} MB"
        print(f"  {name:<28} {timing.median:7.2f}s  {rows / timing.median:>9,.0f}  {cpu}  "
              f"{per_cpu}  {rss}  ({timing.spread()}, {len(timing.runs)} runs)")
    wrong = []
    for name, counts in runs.counts.items():
        want = expected.reimport if name.endswith("re-import") else expected.first
        check = "as generated" if counts == want else f"MISMATCH: the file holds {want}"
        taken, skipped, invalid = counts
        print(f"  {name}: {taken:,} taken, {skipped:,} skipped, {invalid:,} invalid ({check})")
        if counts != want:
            wrong.append(name)
    pairs = [("SQLite import", "sqlite3 CLI .import --csv"),
             ("SQLite import", "python csv + executemany"),
             ("SQLite re-import", "sqlite3 CLI .import --csv"),
             ("PostgreSQL import", "psql \\copy"),
             ("PostgreSQL re-import", "psql \\copy")]  # fmt: skip
    for subject, baseline in pairs:
        if subject in runs.times and baseline in runs.times:
            print(ratio_line(f"{subject} vs {baseline}", runs.timing(subject),
                             runs.timing(baseline), None))
    if wrong:
        raise AssertionError(f"{', '.join(wrong)}: counts differ from what the file holds")


def run(quick: bool) -> None:
    """Time `stopline import` of a large list on SQLite and PostgreSQL, then its re-import."""
    rows, rounds = (20_000, 1) if quick else (500_000, 3)
    rows = int(os.environ.get("STOPLINE_BENCH_IMPORT_ROWS", rows))  # the smoke test's 2,000
    heading(f"import: `stopline import` of {rows:,} rows (child process; median of {rounds} runs)")
    WORK.mkdir(parents=True, exist_ok=True)
    file = WORK / f"optouts-{rows}.csv"
    expected = make_csv(file, rows)
    size = file.stat().st_size / 2**20
    print(f"  file: {file} ({size:.1f} MB)\n  rows: {expected.describe()}")
    pg_reason = postgres_reason()
    runs = Runs()
    with tempfile.TemporaryDirectory(dir=WORK) as scratch:
        cwd = Path(scratch)  # no developer .env here; the ledgers go here too
        for round_ in range(1, rounds + 1):  # SQLite and PostgreSQL alternate: drift hits both
            sqlite_round(runs, file, cwd)
            if pg_reason is None:
                postgres_round(runs, file, cwd)
            done = ", ".join(f"{name} {times[-1]:.1f} s" for name, times in runs.times.items())
            print(f"  run {round_}/{rounds}: {done}", flush=True)
    report(runs, rows, expected)
    if pg_reason is not None:
        print(f"  PostgreSQL skipped: {pg_reason}")
    print("  (baselines load the same file into a bare table: no phone parsing, rules, "
          "indexes or events;\n   CPU s is the child's own user+sys time: steadier than wall "
          "time on a busy machine,\n   but without the PostgreSQL server's share)")
