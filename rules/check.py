"""Helpers for the CLI: `stopline rules check` and `stopline rules try`."""

from __future__ import annotations

from pathlib import Path

from core.errors import RulesError
from core.model import Decision, DecisionRequest, Scope, ScopeFacts, Source, Status
from core.ports import Decider
from rules.compile import load_rules


def check_file(path: str | Path) -> tuple[bool, list[str]]:
    """(True, summary lines) for a usable file; (False, one "file:line at path: message" each)."""
    try:
        compiled = load_rules(path)
    except RulesError as exc:
        return False, [str(problem) for problem in exc.problems]
    model = compiled.model
    intents: dict[str, int] = {}
    for group in model.keywords.values():
        intents[group.intent] = intents.get(group.intent, 0) + 1
    by_intent = ", ".join(f"{n} {intent}" for intent, n in sorted(intents.items()))
    return True, [
        f"{path}: OK",
        f"keyword groups: {len(model.keywords)} ({by_intent})",
        f"keywords: {sum(len(g.words) for g in model.keywords.values())}",
        f"languages: {', '.join(compiled.languages)} (default {compiled.default_language})",
        f"review phrases: {len(compiled.phrases)}; typo review: "
        f"{'on' if compiled.typos else 'off'}",
        f"guards: {len(compiled.guards)}; reply overrides for "
        f"{len(model.replies.senders)} sender(s)",
        f"transition rules: {len(compiled.rules)} ({compiled.test_count} equality tests)",
        f"version: {compiled.version}",
    ]


def try_text(
    holder_or_engine: Decider,
    text: str,
    *,
    sender: str | None = None,
    contact: str | None = None,
    status: str | Status = Status.SUBSCRIBED,
    by: str | Source | None = None,
    scope: str | Scope | None = None,
) -> Decision:
    """Decide on a contact's text as if the contact's row (sender's, else account's) had `status`.

    `contact` is accepted for the CLI's sake; the rules never depend on who the contact is.
    """
    del contact
    state = Status(status)
    source = Source(by) if by is not None and state is Status.OPTED_OUT else None
    if state is Status.OPTED_OUT and source is None:
        source = Source.CONTACT
    facts = ScopeFacts(state, source)
    where = Scope(scope) if scope else (Scope.SENDER if sender else Scope.ACCOUNT)
    plain = ScopeFacts()
    request = DecisionRequest(
        actor=Source.CONTACT,
        sender=sender,
        sender_state=facts if where is Scope.SENDER else plain,
        account_state=facts if where is Scope.ACCOUNT else plain,
        text=text,
    )
    return holder_or_engine.decide(request)
