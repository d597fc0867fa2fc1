"""`python -m bench rules --quick` and `python -m bench import --quick` run and print their lines.

No timing is asserted (benchmarks print ratios for people to read); these only catch a
benchmark broken by a change elsewhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def bench(name: str, **env: str) -> str:
    """Run one quick benchmark from the repository root; its stdout (fail on a non-zero exit)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("STOPLINE_", "TWILIO_"))}
    if "STOPLINE_TEST_POSTGRES_URL" in os.environ:  # the same PostgreSQL as the other tests
        clean["STOPLINE_TEST_POSTGRES_URL"] = os.environ["STOPLINE_TEST_POSTGRES_URL"]
    result = subprocess.run(
        [sys.executable, "-m", "bench", name, "--quick"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_rules_bench_runs_both_engines_and_the_dict_baseline() -> None:
    out = bench("rules")
    assert "== rules: 1,000 inbound texts" in out
    assert "give the same Decision for all 1,000 texts" in out
    for line in ("python decide", "dict: normalize + get", "python vs dict:", "where the time goes",
                 "match_text by family:"):
        assert line in out
    assert "durable decide" in out or "durable engine skipped" in out


def test_import_bench_imports_reimports_and_checks_the_counts() -> None:
    # 2,000 rows instead of the quick 20,000: this checks the benchmark works, in seconds
    out = bench("import", STOPLINE_BENCH_IMPORT_ROWS="2000")
    assert "== import: `stopline import` of 2,000 rows" in out
    for line in ("SQLite import ", "SQLite re-import ", "python csv + executemany",
                 "SQLite import: 1,971 taken, 22 skipped, 6 invalid (as generated)",
                 "SQLite re-import: 0 taken, 1,993 skipped, 6 invalid (as generated)"):
        assert line in out
    assert "PostgreSQL import: 1,971 taken" in out or "PostgreSQL skipped:" in out
    assert "MISMATCH" not in out


def test_carriers_bench_takes_every_carriers_signed_deliveries() -> None:
    out = bench("carriers")
    for carrier in ("twilio", "telnyx", "plivo", "bandwidth", "vonage", "sinch"):
        assert f"  {carrier}, wall: stopline" in out, out
