"""Choose the backend: durable-rules when it imports, else the pure-Python evaluator."""

from __future__ import annotations

import logging
import sys

from rules import durable_engine
from rules.compile import CompiledRules
from rules.engine import PythonEngine, RulesEngine

log = logging.getLogger(__name__)
BACKENDS = ("auto", "durable", "python")


def build_engine(
    compiled: CompiledRules, backend: str = "auto", previous: RulesEngine | None = None
) -> RulesEngine:
    """An engine for these rules: backend "auto" (durable if it imports), "durable" or "python".

    `previous` (on reload) lets a durable engine take over the old one's session when the
    transition rules are unchanged; close `previous` after the swap either way.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown rules backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if backend == "python":
        return PythonEngine(compiled)
    if backend == "auto" and not durable_engine.available():
        log.warning(
            "durable-rules is not available on Python %s (%s); deciding with the pure-Python "
            "evaluator of the same compiled rules",
            sys.version.split()[0],
            durable_engine.IMPORT_ERROR,
        )
        return PythonEngine(compiled)
    return durable_engine.DurableEngine(compiled, previous)
