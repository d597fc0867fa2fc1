"""The interfaces the core needs from the outside, implemented elsewhere (rules/, tests' fakes)."""

from __future__ import annotations

from typing import Protocol

from core.model import Decision, DecisionRequest


class Decider(Protocol):
    """Something that turns facts into a Decision and never acts on it (rules/ implements it)."""

    @property
    def version(self) -> str:
        """The sha256 of the rules in force, recorded with every event."""
        ...

    def decide(self, request: DecisionRequest) -> Decision:
        """Return the decision for these facts."""
        ...
