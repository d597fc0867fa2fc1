"""Fact extraction in Python (all text matching lives here); Decisions built from a fired rule."""

from __future__ import annotations

from dataclasses import dataclass

from core.model import Decision, DecisionRequest, Scope, ScopeFacts, Status
from rules.compile import CompiledRules, KeywordHit
from rules.normalize import clauses, contains_words, is_typo, normalize, strip_fillers
from rules.transitions import Rule

_QUOTES = frozenset('"“”„‟«»「」『』＂')


@dataclass(frozen=True, slots=True)
class Match:
    """What Python found in a message: intent, keyword hit, guard, and why (for reviews)."""

    intent: str = "none"
    hit: KeywordHit | None = None
    guard: str = ""
    phrase: str | None = None
    reason: str | None = None


def _guard(rules: CompiledRules, text: str, words: str) -> str:
    quoted = any(ch in _QUOTES for ch in text)
    for name, prefixes, needs_quote in rules.guards:
        starts = any(words == p or words.startswith(p + " ") for p in prefixes)
        if starts and (quoted or not needs_quote):
            return name
    return ""


def _typo(rules: CompiledRules, body: str) -> Match | None:
    for key, hit in rules.typo_targets:
        if len(body) >= 3 and is_typo(body, key, rules.typo_min_length):
            return Match(
                "review", hit, phrase=body, reason=f'"{body}" looks like a misspelt {hit.word}'
            )
    return None


def _only_opt_out_words(rules: CompiledRules, body: str) -> list[KeywordHit]:
    """The keywords of a body made only of opt-out keywords and fillers ("STOP STOP STOP")."""
    tokens, hits = body.split(), []
    fillers = {" ".join(f) for f in rules.fillers}
    while tokens:
        for size in (3, 2, 1):
            piece = " ".join(tokens[:size])
            hit = rules.keywords.get(piece)
            if len(tokens) >= size and (piece in fillers or (hit and hit.intent == "opt_out")):
                if hit is not None:
                    hits.append(hit)
                tokens = tokens[size:]
                break
        else:
            return []
    return hits


def match_text(rules: CompiledRules, text: str) -> Match:
    """Classify a message: keyword (whole body, or an opt-out clause), review phrase, typo, none."""
    words = normalize(text)
    guard = _guard(rules, text, words)
    body = strip_fillers(words, rules.fillers)
    hit = rules.keywords.get(body)
    if hit is not None:
        return Match(hit.intent, hit, guard)
    found = [rules.keywords.get(strip_fillers(c, rules.fillers)) for c in clauses(text)]
    outs = [h for h in found if h is not None and h.intent == "opt_out"]
    outs = outs or _only_opt_out_words(rules, body)
    if outs:
        # several opt-out clauses: the broadest scope wins ("STOP. STOP ALL" covers the account)
        best = next((h for h in outs if h.scope == "account"), outs[0])
        return Match("opt_out", best, guard)
    for phrase, shown in rules.phrases:
        if contains_words(words, phrase):
            return Match("review", None, guard, shown, f'matched the review phrase "{shown}"')
    typo = _typo(rules, body) if rules.typos and body else None
    if typo is not None:
        return Match(typo.intent, typo.hit, guard, typo.phrase, typo.reason)
    return Match("none", None, guard)


def _row_by(row: ScopeFacts) -> str:
    if row.status is Status.OPTED_OUT and row.opted_out_by is not None:
        return row.opted_out_by.value
    return "none"


def build_facts(rules: CompiledRules, request: DecisionRequest) -> tuple[dict[str, str], Match]:
    """The flat string facts the transition rules test, and the text match behind them."""
    s, a = request.sender_state, request.account_state
    if request.command is not None:
        match = Match()
        scope = (
            request.scope.value if request.scope else ("sender" if request.sender else "account")
        )
        kind, command = "command", request.command.value
    else:
        match = match_text(rules, request.text or "")
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
