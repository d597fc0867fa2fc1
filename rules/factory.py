"""Choose the backend: durable-rules when it imports, else the pure-Python evaluator."""

from __future__ import annotations

import logging
import sys
from importlib import metadata

from rules import durable_backend
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
    if backend == "auto" and not durable_backend.available():
        # Expected on Python 3.13+: said once at start by `stopline serve` and shown by
        # /healthz and `stopline rules check` (evaluator()); a debug line per build here.
        log.debug("durable-rules cannot load (%s); the Python evaluator decides",
                  durable_backend.IMPORT_ERROR)  # fmt: skip
        return PythonEngine(compiled)
    return durable_backend.DurableEngine(compiled, previous)


def evaluator(backend: str = "auto") -> str:
    """Which evaluator decides, for operators: "durable-rules 2.0.28" or "python (why)"."""
    if backend == "python":
        return "python (chosen)"
    if not durable_backend.available():
        version = ".".join(map(str, sys.version_info[:2]))
        return f"python (durable-rules cannot load on Python {version})"
    try:
        return f"durable-rules {metadata.version('durable-rules')}"
    except metadata.PackageNotFoundError:  # imported from a source tree, not installed
        return "durable-rules"


def evaluator_detail() -> str | None:
    """Why durable-rules cannot load (its import error), or None when it loads."""
    return durable_backend.IMPORT_ERROR
