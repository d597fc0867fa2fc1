"""The interfaces the core needs from the outside, implemented elsewhere (rules/, tests' fakes)."""

from __future__ import annotations

from typing import Protocol

from core.model import Decision, DecisionRequest


class TextMatch(Protocol):
    """What a Decider found in a text before any stored state was read (opaque to the core)."""

    @property
    def version(self) -> str:
        """The rules version that matched the text."""
        ...


class Decider(Protocol):
    """Something that turns facts into a Decision and never acts on it (rules/ implements it).

    A contact's text is decided in two steps: match(text), the costly part, needs no stored
    state and runs before the contact's write lock is taken; decide(request, matched) then
    adds the stored state's facts inside it.
    """

    @property
    def version(self) -> str:
        """The sha256 of the rules in force, recorded with every event."""
        ...

    def match(self, text: str) -> TextMatch:
        """Match a contact's text with the rules in force (pure: no stored state, no lock)."""
        ...

    def decide(self, request: DecisionRequest, matched: TextMatch | None = None) -> Decision:
        """Return the decision for these facts (with `matched`, the text is not matched again)."""
        ...
