"""What every benchmark shares: repeated timing, medians, ratios and one printed table."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    """The median (and spread) of several runs of one thing, in seconds."""

    name: str
    runs: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def spread(self) -> str:
        return f"{min(self.runs):.3f}–{max(self.runs):.3f} s"


def repeat(name: str, fn: Callable[[], object], runs: int) -> Timing:
    """Run fn `runs` times and time each run."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return Timing(name, times)


def interleave(
    subjects: dict[str, Callable[[], object]], runs: int, setup: Callable[[], object] | None = None
) -> dict[str, Timing]:
    """Time each subject `runs` times, alternating between them so drift hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in subjects}
    for _ in range(runs):
        for name, fn in subjects.items():
            if setup is not None:
                setup()
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: Timing(name, values) for name, values in times.items()}


def ratio_line(label: str, subject: Timing, baseline: Timing, target: float | None) -> str:
    """'label: subject X s vs baseline Y s = R× (target T×: met/MISSED)'."""
    ratio = subject.median / baseline.median
    verdict = ""
    if target is not None:
        verdict = f"  (target ≤ {target:g}×: {'met' if ratio <= target else 'MISSED'})"
    return (
        f"  {label}: {subject.name} {subject.median:.4f} s vs {baseline.name} "
        f"{baseline.median:.4f} s (medians of {len(subject.runs)}) = {ratio:.2f}×{verdict}"
    )


def heading(title: str) -> None:
    """A section heading in the benchmark output."""
    print(f"\n== {title}", flush=True)


def peak_rss_mb(children: bool = False) -> float:
    """This process's (or its waited-for children's) peak resident memory, in MB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


def machine() -> str:
    """One line describing where the numbers were taken."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


POSTGRES_URL = os.environ.get(
    "STOPLINE_BENCH_POSTGRES_URL",
    os.environ.get(
        "STOPLINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    ),
)


@contextmanager
def postgres_schema(prefix: str = "bench") -> Iterator[tuple[str, str] | None]:
    """(URL, schema) of a fresh schema, dropped afterwards; None (said why) when PG is down."""
    from sqlalchemy import create_engine, text

    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # any failure means: no PostgreSQL to measure here
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        print(f"  PostgreSQL skipped: not reachable at {POSTGRES_URL}: {first}")
        admin.dispose()
        yield None
        return
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}", schema
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
