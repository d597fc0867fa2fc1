"""stopline's rules: rules.yml loaded and checked, facts extracted in Python, transitions decided
by durable-rules (or the pure-Python evaluator of the same compiled rules)."""

from rules.compile import MAX_TESTS, CompiledRules, compile_rules, load_rules
from rules.engine import PythonEngine, RulesEngine
from rules.errors import EngineClosed, RulesEngineError
from rules.factory import build_engine, evaluator
from rules.holder import RulesHolder
from rules.normalize import normalize
from rules.trial import try_text

__all__ = [
    "MAX_TESTS",
    "CompiledRules",
    "EngineClosed",
    "PythonEngine",
    "RulesEngine",
    "RulesEngineError",
    "RulesHolder",
    "build_engine",
    "compile_rules",
    "evaluator",
    "load_rules",
    "normalize",
    "try_text",
]
