"""stopline's rules: rules.yml loaded and checked, facts extracted in Python, transitions decided
by durable-rules (or the pure-Python evaluator of the same compiled rules)."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Bound here, not lazily: the module rules.normalize, once imported, would take the name.
from rules.normalize import normalize

if TYPE_CHECKING:
    from rules.compile import MAX_TESTS, CompiledRules, compile_rules, load_rules
    from rules.engine import PythonEngine, RulesEngine
    from rules.errors import EngineClosed, RulesEngineError
    from rules.factory import build_engine, evaluator
    from rules.holder import RulesHolder
    from rules.trial import try_text

# Each name is imported from its module when first asked for: `rules.errors` (which the CLI
# catches) comes without the compiler, the engines and durable-rules.
_HOME = {
    "MAX_TESTS": "compile", "CompiledRules": "compile", "compile_rules": "compile",
    "load_rules": "compile", "PythonEngine": "engine", "RulesEngine": "engine",
    "EngineClosed": "errors", "RulesEngineError": "errors", "build_engine": "factory",
    "evaluator": "factory", "RulesHolder": "holder", "try_text": "trial",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'rules' has no attribute {name!r}")
    return getattr(import_module(f"rules.{home}"), name)


__all__ = [
    "MAX_TESTS", "CompiledRules", "EngineClosed", "PythonEngine", "RulesEngine",
    "RulesEngineError", "RulesHolder", "build_engine", "compile_rules", "evaluator",
    "load_rules", "normalize", "try_text",
]  # fmt: skip
