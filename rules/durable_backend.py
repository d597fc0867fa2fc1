"""durable-rules as the transition engine, wrapped against each hazard measured in 2.0.28.

Guards (see shared/reference/durable-rules.md): one fixed session id; a catch-all rule so no
event is unmatched and state is never deleted; a Host without timer threads; one lock around
post() and the read-back; decisions recorded into a Python list and checked; no text matching
in durable (it only sees short fact strings); a fresh ruleset dict per registration; one-argument
actions; explicit distinct priorities; the old ruleset freed on close.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from rules.compile import MAX_TESTS, CompiledRules
from rules.engine import RulesEngine
from rules.errors import EngineClosed, RulesEngineError
from rules.rule_table import Rule

try:  # durable-rules does not import on Python >= 3.13; rules.build_engine falls back then
    import durable_rules_engine
    from durable.engine import Host

    IMPORT_ERROR: str | None = None
except Exception as exc:  # ImportError, or a C symbol missing at load time
    Host = object
    durable_rules_engine = None
    IMPORT_ERROR = f"{type(exc).__name__}: {exc}"

SESSION = "stopline"  # one session id for every event: each new id costs ~86 KB and 1,025 crash
RULESET = "consent"


def available() -> bool:
    """Whether durable-rules imported."""
    return IMPORT_ERROR is None


class QuietHost(Host):
    """A durable Host without its two timer threads (they can steal an action from post())."""

    def _run(self) -> None:
        """No background dispatch: every action runs inside post()."""

    def delete_state(self, ruleset_name: str, sid: str | None = None) -> None:
        """Refuse: delete_state segfaults on a session created by an unmatched event."""
        raise RuntimeError("stopline never deletes durable state")


def ruleset_definition(
    rules: tuple[Rule, ...], action: Callable[[int], Callable[[Any], None]]
) -> dict[str, Any]:
    """A fresh durable ruleset dict (register_rulesets mutates what it is given)."""
    return {
        f"r{i}": {
            "all": [{"m": {"$and": [{field: value} for field, value in rule.when]}}],
            "pri": rule.pri,
            "run": action(i),
        }
        for i, rule in enumerate(rules)
    }


class _Session:
    """The durable Host, its one ruleset and one session, the lock, and the fired-rule list."""

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        self.rules = rules
        self.lock = threading.Lock()
        self.fired: list[int] = []
        self.host, self.ruleset = self._build()

    def _build(self) -> tuple[Any, Any]:
        host = QuietHost()
        host.register_rulesets({RULESET: ruleset_definition(self.rules, self._action)})
        return host, host.get_ruleset(RULESET)

    def _action(self, index: int) -> Callable[[Any], None]:
        def run(c: Any) -> None:  # exactly one parameter: two would make durable go async
            self.record(index)

        return run

    def record(self, index: int) -> None:
        """Called by durable from inside post(): note which rule fired."""
        self.fired.append(index)

    def post(self, facts: dict[str, str]) -> int:
        """Post the facts to the one session (caller holds the lock); the index of the rule."""
        self.fired.clear()
        try:
            state = self.host.post(RULESET, {"sid": SESSION, **facts})
        except Exception as exc:
            self.reset()
            raise RulesEngineError(f"durable-rules failed: {exc}") from exc
        fired = list(self.fired)
        if not isinstance(state, dict) or "exception" in state or len(fired) != 1:
            detail = state.get("exception") if isinstance(state, dict) else None
            # the exception key stays in the session for every later event: start afresh
            self.reset()
            raise RulesEngineError(
                f"durable-rules recorded {len(fired)} decision(s) instead of one"
                + (f"; action failed: {str(detail)[:200]}" if detail else "")
            )
        return fired[0]

    def reset(self) -> None:
        """Replace the ruleset with a fresh one and free the old."""
        old = self.ruleset
        self.host, self.ruleset = self._build()
        _free(old)

    def free(self) -> None:
        """Free the C ruleset (never touched again)."""
        _free(self.ruleset)


class DurableEngine(RulesEngine):
    """Transition rules evaluated by durable-rules on facts extracted in Python.

    A reload whose transition rules are unchanged (keywords, replies, phrases edited) takes
    over the previous engine's durable session instead of building a new one: durable 2.0.28's
    delete_ruleset does not free a session's internals (~340 KB each), so most reloads cost
    nothing and only a change of the rule table costs one new ruleset.
    """

    backend = "durable"

    def __init__(self, compiled: CompiledRules, previous: RulesEngine | None = None) -> None:
        if not available():
            raise RulesEngineError(f"durable-rules is not available here ({IMPORT_ERROR})")
        if compiled.test_count > MAX_TESTS:
            raise RulesEngineError(
                f"{compiled.test_count} equality tests exceed the safe cap of {MAX_TESTS}"
            )
        super().__init__(compiled)
        self._closed = False
        self._owner = True
        taken = None
        if isinstance(previous, DurableEngine):
            taken = previous._hand_over(compiled.rules)
        self.reused = taken is not None  # took over the previous engine's durable session
        self._session = taken or _Session(compiled.rules)

    def _hand_over(self, rules: tuple[Rule, ...]) -> _Session | None:
        with self._session.lock:
            if self._closed or self._session.rules != rules:
                return None
            self._closed, self._owner = True, False  # the new engine owns the session now
            return self._session

    def evaluate(self, facts: dict[str, str]) -> Rule:
        """Post the facts to the one session under the lock and read back the fired rule."""
        with self._session.lock:
            if self._closed:
                raise EngineClosed("these rules were replaced")
            index = self._session.post(facts)
        return self.compiled.rules[index]

    def close(self) -> None:
        """Free the C ruleset unless handed over; later evaluate() calls raise EngineClosed."""
        with self._session.lock:
            if not self._closed:
                self._closed = True
                if self._owner:
                    self._session.free()


def _free(ruleset: Any) -> None:
    # No public API removes a ruleset; the C module's delete_ruleset frees it (flat memory).
    durable_rules_engine.delete_ruleset(ruleset._handle)
