"""Facts for the transition rules (text matching is in rules.matching); Decisions from a rule."""

from __future__ import annotations

from dataclasses import dataclass

from core.model import Decision, DecisionRequest, Scope, ScopeFacts, Status
from rules.compile import CompiledRules
from rules.matching import Match, match_text
from rules.rule_table import Rule


@dataclass(frozen=True, slots=True)
class MatchedText:
    """A text matched by one version of the rules, before any stored state is read."""

    version: str
    text: str
    match: Match


def _row_by(row: ScopeFacts) -> str:
    if row.status is Status.OPTED_OUT and row.opted_out_by is not None:
        return row.opted_out_by.value
    return "none"


def build_facts(
    rules: CompiledRules, request: DecisionRequest, matched: Match | None = None
) -> tuple[dict[str, str], Match]:
    """The flat string facts the transition rules test, and the text match behind them.

    `matched` is the request's text already matched with these rules (outside any lock).
    """
    s, a = request.sender_state, request.account_state
    if request.command is not None:
        match = Match()
        scope = (
            request.scope.value if request.scope else ("sender" if request.sender else "account")
        )
        kind, command = "command", request.command.value
    else:
        match = matched if matched is not None else match_text(rules, request.text or "")
        opt_out = match.intent == "opt_out" and match.hit is not None
        scope = match.hit.scope if opt_out and match.hit else "sender"
        kind, command = "message", "none"
    if scope == "sender" and request.sender is None:
        scope = "account"
    row = s if scope == "sender" else a
    reachable = s.status is Status.SUBSCRIBED and a.status is Status.SUBSCRIBED
    facts = {
        "_e": "1",
        "kind": kind,
        "actor": request.actor.value,
        "command": command,
        "intent": match.intent,
        "guard": match.guard,
        "scope": scope,
        "row_status": row.status.value,
        "row_by": _row_by(row),
        "reachable": "yes" if reachable else "no",
        "sender_status": s.status.value,
        "account_status": a.status.value,
    }
    return facts, match


def reply_text(rules: CompiledRules, kind: str, language: str | None, sender: str | None) -> str:
    """The reply for `kind`: the language first, then the sender's override, then the default."""
    langs = [lang for lang in (language, rules.default_language) if lang]
    for lang in langs:
        for who in (sender or "", ""):
            text = rules.replies.get((who, kind, lang))
            if text is not None:
                return text
    return ""


def build_decision(
    rules: CompiledRules, rule: Rule, facts: dict[str, str], match: Match, request: DecisionRequest
) -> Decision:
    """Turn the rule that fired into a Decision (same code for both engines)."""
    scope = Scope(facts["scope"] if rule.scope == "fact" else rule.scope)
    hit = match.hit
    language = hit.language if hit else None
    reply = reply_text(rules, rule.reply, language, request.sender) if rule.reply else None
    if rule.reason:
        reason: str | None = rule.reason.format(**facts)
    elif rule.name.startswith("guard:"):
        reason = f"the {match.guard} guard matched: not a request to opt out"
    else:
        reason = match.reason
    return Decision(
        transition=rule.transition,
        scope=scope,
        rule=rule.name,
        rules_version=rules.version,
        reply=reply or None,
        keyword=match.phrase if match.intent == "review" else (hit.word if hit else None),
        language=language,
        reason=reason,
    )
