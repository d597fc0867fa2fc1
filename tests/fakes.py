"""Hand-written fakes of stopline's interfaces, for tests of the core without the rules engine."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from core.model import (
    Command,
    Decision,
    DecisionRequest,
    Scope,
    Source,
    Status,
    Transition,
)


@dataclass(frozen=True)
class FakeMatch:
    """TextDecider's match of a text: only the version and the text."""

    version: str
    text: str


class TextDecider:
    """A tiny Decider: STOP/STOPALL opt out, START opts in, anything else does nothing.

    It follows the same contract as the real rules (decide from facts, never act), so the
    core's application of decisions can be tested on its own.
    """

    version = "fake-rules-v1"

    def __init__(self) -> None:
        self.requests: list[DecisionRequest] = []
        self.matched: list[str] = []
        self._lock = threading.Lock()

    def match(self, text: str) -> FakeMatch:
        """The text step: nothing to match for this fake, only noted."""
        with self._lock:
            self.matched.append(text)
        return FakeMatch(self.version, text)

    def carrier_scope(self, carrier: str) -> Scope:
        """Carrier-reported opt-outs cover the account for "wide", the number otherwise."""
        return Scope.ACCOUNT if carrier == "wide" else Scope.SENDER

    def decide(self, request: DecisionRequest, matched: object | None = None) -> Decision:
        with self._lock:
            self.requests.append(request)
        if request.command is not None:
            return self._command(request)
        word = (request.text or "").strip().upper()
        if word in ("STOP", "STOPALL"):
            scope = Scope.ACCOUNT if word == "STOPALL" else Scope.SENDER
            row = request.account_state if scope is Scope.ACCOUNT else request.sender_state
            if row.status is Status.OPTED_OUT and row.opted_out_by is Source.CONTACT:
                return self._d(Transition.NONE, scope, "already")
            return self._d(Transition.OPT_OUT, scope, "opt_out", reply="Unsubscribed.", kw=word)
        if word == "START":
            blocked = Status.OPTED_OUT in (
                request.sender_state.status,
                request.account_state.status,
            )
            if blocked:
                return self._d(
                    Transition.OPT_IN, Scope.SENDER, "opt_in", reply="Welcome back.", kw=word
                )
            return self._d(Transition.NONE, Scope.SENDER, "not_opted_out")
        if "remove me" in word.lower():
            return self._d(Transition.REVIEW, Scope.SENDER, "review", kw="remove me")
        return self._d(Transition.NONE, Scope.SENDER, "none")

    def _command(self, request: DecisionRequest) -> Decision:
        scope = request.scope or Scope.ACCOUNT
        row = request.sender_state if scope is Scope.SENDER else request.account_state
        if request.command is Command.OPT_OUT:
            if row.status is Status.OPTED_OUT:
                return self._d(Transition.NONE, scope, "already_opted_out")
            return self._d(Transition.OPT_OUT, scope, "agent_opt_out")
        if row.status is Status.SUBSCRIBED:
            return self._d(Transition.NONE, scope, "not_opted_out")
        return self._d(Transition.OPT_IN, scope, "agent_opt_in")

    def _d(
        self,
        transition: Transition,
        scope: Scope,
        rule: str,
        reply: str | None = None,
        kw: str | None = None,
    ) -> Decision:
        return Decision(transition, scope, rule, self.version, reply=reply, keyword=kw)


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2026, 11, 26, 15, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now
