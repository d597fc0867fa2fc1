"""Rules at their limits: the largest file `rules check` accepts, and 1,600-character texts of
every costly shape decided with it, each in under 5 ms (the target of issue 9).

The load is timed against the shipped file's (it happens on the watcher thread, never inside a
request); each worst text is timed whole (text matching + facts + engine + Decision) with both
engines, which must agree on every one.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.common import heading, interleave, ratio_line, repeat
from bench.rules_files import SHIPPED, TEXT_LIMIT, largest_rules, worst_texts
from core.model import DecisionRequest, ScopeFacts, Source
from rules import durable_backend, load_rules
from rules.engine import PythonEngine, RulesEngine
from rules.normalize import fold_unicode
from stopline.cli.rules_check import check_file

TARGET_MS = 5.0
SENDER = "+12065550199"


def _request(text: str) -> DecisionRequest:
    return DecisionRequest(Source.CONTACT, SENDER, ScopeFacts(), ScopeFacts(), text=text)


def _load(path: Path, runs: int) -> None:
    ok, summary = check_file(path)
    size = path.stat().st_size
    print(f"  largest accepted file: {size:,} bytes, `rules check`: {'OK' if ok else 'REFUSED'}")
    for line in summary[1:6]:
        print(f"    {line}")
    timings = interleave(
        {"load largest": lambda: load_rules(path), "load shipped": lambda: load_rules(SHIPPED)},
        runs,
    )
    print(ratio_line("load (on the watcher thread)", timings["load largest"],
                     timings["load shipped"], None))  # fmt: skip


def _decide(engines: list[RulesEngine], texts: dict[str, str], reps: int, runs: int) -> float:
    """Print each text's median ms per decision for each engine; return the worst."""
    worst = 0.0
    names = "  ".join(f"{e.backend:>8}" for e in engines)
    print(f"  {TEXT_LIMIT:,}-character texts, ms per decision (median of {runs}):  {names}")
    for name, text in texts.items():
        request = _request(text)
        decisions = {e.backend: e.decide(request) for e in engines}
        first = next(iter(decisions.values()))
        if any(d != first for d in decisions.values()):
            raise AssertionError(f"engines disagree on {name!r}: {decisions}")
        cells = []
        for engine in engines:
            timing = repeat(name, _calls(engine, request, reps), runs)
            ms = timing.median / reps * 1000
            worst = max(worst, ms)
            cells.append(f"{ms:8.3f}")
        print(f"    {name:<22} {first.transition.value:<8} {'  '.join(cells)}")
    return worst


def _calls(engine: RulesEngine, request: DecisionRequest, reps: int) -> Callable[[], object]:
    def decide_cold() -> None:
        for _ in range(reps):
            fold_unicode.cache_clear()  # each decision folds its text afresh, as a new one would
            engine.decide(request)

    return decide_cold


def run_largest(quick: bool) -> None:
    """The largest accepted file's load, and the worst texts decided with it."""
    runs, reps = (3, 3) if quick else (7, 20)
    heading(f"rules at their caps: the largest file `rules check` accepts (median of {runs})")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rules.yml"
        path.write_text(largest_rules(), encoding="utf-8")
        _load(path, runs)
        compiled = load_rules(path)
    engines: list[RulesEngine] = [PythonEngine(compiled)]
    if durable_backend.available():
        engines.append(durable_backend.DurableEngine(compiled))
    try:
        worst = _decide(engines, worst_texts(), reps, runs)
    finally:
        for engine in engines:
            engine.close()
    verdict = "met" if worst < TARGET_MS else "MISSED"
    print(f"  slowest decision: {worst:.3f} ms (target < {TARGET_MS:g} ms: {verdict})")
