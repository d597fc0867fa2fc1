"""The engine interface shared by the durable-rules backend and the pure-Python evaluator."""

from __future__ import annotations

from abc import ABC, abstractmethod

from core.model import Decision, DecisionRequest, Scope
from rules.compile import CompiledRules
from rules.errors import EngineClosed, RulesEngineError
from rules.facts import MatchedText, build_decision, build_facts
from rules.matching import match_text
from rules.rule_table import Rule


class RulesEngine(ABC):
    """Turns a DecisionRequest into a Decision with compiled rules; never acts on it."""

    backend: str = ""

    def __init__(self, compiled: CompiledRules) -> None:
        self.compiled = compiled

    @property
    def version(self) -> str:
        """The sha256 of the rules file these rules came from."""
        return self.compiled.version

    def match(self, text: str) -> MatchedText:
        """The text matching step alone: it needs no stored state, so no lock is held for it."""
        return MatchedText(self.version, text, match_text(self.compiled, text))

    def decide(self, request: DecisionRequest, matched: object | None = None) -> Decision:
        """Extract facts in Python, let the backend pick the rule, build the Decision.

        A `matched` text from these same rules and of this request's text is used as it is;
        any other (rules reloaded in between) is matched again, so one version decides.
        """
        known = None
        if (
            isinstance(matched, MatchedText)
            and matched.version == self.version
            and request.command is None
            and matched.text == (request.text or "")
        ):
            known = matched.match
        facts, match = build_facts(self.compiled, request, known)
        rule = self.evaluate(facts)
        return build_decision(self.compiled, rule, facts, match, request)

    def carrier_scope(self, carrier: str) -> Scope:
        """What an opt-out this carrier reports covers (rules.yml's carrier_scope; sender)."""
        scopes = {str(name): scope for name, scope in self.compiled.model.carrier_scope.items()}
        named = scopes.get(carrier, "sender")
        return Scope(named)

    @abstractmethod
    def evaluate(self, facts: dict[str, str]) -> Rule:
        """The rule that fires for these facts."""

    def close(self) -> None:  # noqa: B027 - a no-op unless the backend holds something
        """Free what the backend holds (nothing, by default)."""


def first_match(ordered: tuple[Rule, ...], facts: dict[str, str]) -> Rule:
    """The pure-Python evaluator: the first rule (rules sorted by priority) whose tests hold."""
    for rule in ordered:
        if all(facts.get(field) == value for field, value in rule.when):
            return rule
    raise RulesEngineError("no rule matched (the catch-all rule is missing)")


class PythonEngine(RulesEngine):
    """Evaluates the compiled transition rules in Python: the fallback and the test oracle."""

    backend = "python"

    def __init__(self, compiled: CompiledRules) -> None:
        super().__init__(compiled)
        self._ordered = tuple(sorted(compiled.rules, key=lambda r: r.pri))
        self._closed = False

    def evaluate(self, facts: dict[str, str]) -> Rule:
        """The first rule, by priority, whose equality tests all hold."""
        # As durable's engine does: a closed engine's rules may be stale (replaced by a reload).
        if self._closed:
            raise EngineClosed("these rules were replaced")
        return first_match(self._ordered, facts)

    def close(self) -> None:
        """Later evaluate() calls raise EngineClosed, as with durable-rules."""
        self._closed = True
