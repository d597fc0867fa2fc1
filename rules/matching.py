"""What a contact's message means: keyword, opt-out clause, review phrase, typo or nothing."""

from __future__ import annotations

from dataclasses import dataclass

from rules.compile import CompiledRules, KeywordHit
from rules.normalize import (
    clauses,
    is_typo,
    join_spelled,
    normalize,
    unmask,
)
from rules.reaction import read_reaction


@dataclass(frozen=True, slots=True)
class Match:
    """What Python found in a message: intent, keyword hit, guard, and why (for reviews)."""

    intent: str = "none"
    hit: KeywordHit | None = None
    guard: str = ""
    phrase: str | None = None
    reason: str | None = None


def _typo(rules: CompiledRules, body: str) -> Match | None:
    if not 3 <= len(body) <= rules.typo_longest + 1:
        return None
    found: tuple[int, KeywordHit] | None = None  # the first target in file order wins
    for size in (len(body) - 1, len(body), len(body) + 1):
        for i, key, hit in rules.typo_by_length.get(size, ()):
            if is_typo(body, key, rules.typo_min_length):
                if found is None or i < found[0]:
                    found = (i, hit)
                break
    if found is None:
        return None
    hit = found[1]
    return Match("review", hit, phrase=body, reason=f'"{body}" looks like a misspelt {hit.word}')


def _only_opt_out_words(rules: CompiledRules, body: str) -> list[KeywordHit]:
    """The keywords of a body made only of opt-out keywords and fillers ("STOP STOP STOP")."""
    tokens, hits = body.split(), []
    fillers = rules.fillers.keys
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


def _classify(rules: CompiledRules, text: str) -> Match:
    words = join_spelled(normalize(text))
    body = rules.fillers.strip(words)
    hit = rules.keywords.get(body)
    if hit is not None:
        return Match(hit.intent, hit)
    found = [rules.keywords.get(rules.fillers.strip(c)) for c in clauses(text)]
    in_clauses = [h for h in found if h is not None and h.intent == "opt_out"]
    outs = [h for h in in_clauses if h.in_sentence == "opt_out"]
    outs = outs or _only_opt_out_words(rules, body)
    if outs:
        # several opt-out clauses: the broadest scope wins ("STOP. STOP ALL" covers the account)
        best = next((h for h in outs if h.scope == "account"), outs[0])
        return Match("opt_out", best)
    phrase = rules.phrases.find(words)  # the first phrase of the file that the text holds
    if phrase is not None:
        shown = phrase[1]
        return Match("review", phrase=shown, reason=f'matched the review phrase "{shown}"')
    if in_clauses:  # an ambiguous word in a sentence: "Cancel, I can't make it tomorrow"
        word = in_clauses[0].word
        reason = f'"{word}" inside a longer message: a person should decide'
        return Match("review", in_clauses[0], phrase=word, reason=reason)
    masked = rules.keywords.get(rules.fillers.strip(unmask(text)))
    if masked is not None and masked.intent == "opt_out":
        # "St0p", "$TOP", "ЅТОР" (Cyrillic): a keyword in disguise is still the keyword.
        reason = f"{masked.word} written with lookalike letters or digits"
        return Match("opt_out", masked, reason=reason)
    typo = _typo(rules, body) if rules.typos and body else None
    return typo if typo is not None else Match()


def match_text(rules: CompiledRules, text: str) -> Match:
    """Classify a message: the floor first, then guards, then keywords, phrases and typos."""
    words = join_spelled(normalize(text))
    # The floor is decided before any guard, filler or rule a file could add: a body that is
    # exactly STOP (around fillers holding no keyword's word) can never be turned off.
    floor = rules.floor.get(rules.safe_fillers.strip(words))
    if floor is not None:
        return Match(floor.intent, floor)
    reaction = read_reaction(rules.guards, text)
    if reaction.guard:
        return Match(guard=reaction.guard)
    return _classify(rules, text if reaction.rest is None else reaction.rest)
