"""Every test run on both evaluators takes them from tests/evaluators.py, so durable skips alike."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
# A list of evaluator names written out, or a loop over them: what EVALUATORS replaces.
WRITTEN_OUT = re.compile(r"""[\[(]\s*["']durable["']\s*,\s*["']python["']\s*[\])]""")


def test_no_test_lists_the_evaluators_itself() -> None:
    found = [
        f"{path.relative_to(TESTS)}:{number}"
        for path in sorted(TESTS.rglob("*.py"))
        if path.name != "evaluators.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if WRITTEN_OUT.search(line)
    ]
    assert found == [], "use tests.evaluators.EVALUATORS or the `evaluator` fixture: " + ", ".join(
        found
    )
