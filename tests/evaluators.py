"""The rules evaluators every engine test runs against, and the one place durable-rules may skip.

Tests parametrize over EVALUATORS (a fixture's `params=EVALUATORS`, or the `evaluator`
fixture of tests/conftest.py); a test of durable-rules alone is marked `needs_durable`. Where
durable-rules cannot load (Python 3.13 and later) its cases skip with the reason pytest
prints, and every case still runs against the Python evaluator.
"""

from __future__ import annotations

import sys

import pytest

from rules import durable_backend

DURABLE_MISSING = (
    None
    if durable_backend.available()
    else f"durable-rules cannot load on Python {sys.version.split()[0]} "
    f"({durable_backend.IMPORT_ERROR}); the Python evaluator is tested instead"
)

needs_durable = pytest.mark.skipif(DURABLE_MISSING is not None, reason=DURABLE_MISSING or "")

EVALUATORS = [
    pytest.param("durable", id="durable", marks=needs_durable),
    pytest.param("python", id="python"),
]
