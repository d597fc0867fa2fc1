"""The interfaces the core needs from the outside, implemented elsewhere (rules/, tests' fakes)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from core.model import Decision, DecisionRequest, InboundMessage, Outcome


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


class RulesInfo(Protocol):
    """What the doors read of the rules in force (/healthz, /metrics, the banner)."""

    @property
    def version(self) -> str:
        """The sha256 of the rules in force."""
        ...

    @property
    def backend(self) -> str:
        """The evaluator family deciding: "durable" or "python"."""
        ...

    @property
    def evaluator(self) -> str:
        """Which evaluator decides and why: "durable-rules 2.0.28" or "python (...)"."""
        ...

    @property
    def loaded_at(self) -> datetime:
        """When the rules in force were loaded."""
        ...

    @property
    def last_error(self) -> str | None:
        """Why the file on disk was last refused (the last good rules decide), else None."""
        ...

    @property
    def reloads(self) -> int:
        """Rules files loaded after a change since start."""
        ...

    @property
    def failures(self) -> int:
        """Changed rules files refused since start."""
        ...

    def refresh(self, timeout: float) -> bool:
        """Have the file looked at now, waiting at most `timeout` seconds."""
        ...


class Notices(Protocol):
    """Tells people about a recorded text (Slack's channel notices); never blocks, never raises."""

    def message_received(self, message: InboundMessage, outcome: Outcome) -> None:
        """Queue the notice or review card this outcome calls for, if any."""
        ...

    def close(self) -> None:
        """Send what is queued (bounded wait) and stop."""
        ...
