"""Rules: µs per decision of the durable-rules engine and the pure-Python evaluator, vs a dict.

Both engines decide the same corpus of inbound texts (30% STOP family, 10% START/HELP family,
60% ordinary messages, in varied case and punctuation) with varied consent facts. The baseline
is the naive answer: fold the body with rules.normalize() and look it up in the compiled
keyword table (no fillers, clauses, guards, phrases, typos, facts or Decision).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bench.common import Timing, heading, interleave, ratio_line
from bench.rules_largest import run_largest
from core.model import DecisionRequest, ScopeFacts, Source, Status
from rules import durable_backend
from rules.compile import CompiledRules, load_rules
from rules.engine import PythonEngine, RulesEngine
from rules.facts import build_decision, build_facts
from rules.matching import match_text
from rules.normalize import normalize

RULES = Path(__file__).resolve().parent.parent / "rules.yml"
SENDER = "+12065550199"

STOP_FAMILY = (
    "STOP", "stop", "Stop", "STOP!!", "Stop.", "stop please", "Please STOP", "STOP now",
    "Stop. Thank you", "stop pls", "UNSUBSCRIBE", "Unsubscribe", "unsub", "STOP ALL", "Stopall",
    "QUIT", "End", "CANCEL", "cancel", "Remove", "OPT OUT", "opt-out", "Revoke", "ALTO", "Alto",
    "alto por favor", "PARAR", "Baja", "ARRÊT", "Arret", "PARE", "STOPP", "STOP STOP STOP",
    "Who is this? STOP", "STOP. I never signed up", "Stop texting me", "please stop texting me",
    "Take me off your list", "St0p", "STPO", "S.T.O.P.", "stop 🛑",
)  # fmt: skip
START_HELP_FAMILY = (
    "START", "start", "Start please", "YES", "yes", "Unstop", "UNSTOP", "Subscribe", "VOLVER",
    "HELP", "help", "Help?", "Help!", "INFO", "info", "AYUDA", "Aide", "HILFE",
)  # fmt: skip
ORDINARY = (
    "Thanks, see you Tuesday", "Can we move my appointment to 3pm?", "Running 10 minutes late",
    "ok", "Ok thanks!", "Yes, see you at 3", "Can we stop by tomorrow?", "Who is this?",
    "Cancel, I can't make it tomorrow", "What time do you open on Saturday?", "👍",
    "Liked “Reply STOP to opt out”", "Loved “Your order is ready”", "Great, thank you!",
    "Is my order ready for pickup?", "Hola, ¿a qué hora abren mañana?", "Merci beaucoup",
    "No thanks", "wrong number", "Sounds good", "Can you send me the invoice again please?",
    "I'll be there at 5. Please save me a seat by the window, my knees are not great lately.",
    "Did you get my payment? I sent it Friday through the portal but never got a receipt.",
    "Where do I park?", "Confirmed", "C", "Y", "See you then!", "How much is a cleaning?",
    "Not interested", "My husband will pick it up instead, his name is Dave",
)  # fmt: skip
# (who: weight): most contacts are subscribed; some opted out by text, some by an agent/import.
FACTS = (
    ((ScopeFacts(), ScopeFacts()), 80),
    ((ScopeFacts(Status.OPTED_OUT, Source.CONTACT), ScopeFacts()), 8),
    ((ScopeFacts(), ScopeFacts(Status.OPTED_OUT, Source.CONTACT)), 4),
    ((ScopeFacts(Status.OPTED_OUT, Source.AGENT), ScopeFacts()), 4),
    ((ScopeFacts(), ScopeFacts(Status.OPTED_OUT, Source.IMPORT)), 4),
)
CASES: tuple[Callable[[str], str], ...] = (str, str, str.upper, str.lower, str.title)
ENDINGS = ("", "", "", "!", ".", "!!", " ", "?")


def vary(rng: random.Random, body: str) -> str:
    """The same words as a person might type them: case changed, punctuation added."""
    return rng.choice(CASES)(body) + rng.choice(ENDINGS)


def corpus(size: int, seed: int = 4) -> list[tuple[str, DecisionRequest]]:
    """`size` (family, request) pairs: 30% STOP, 10% START/HELP, 60% ordinary."""
    rng = random.Random(seed)
    families = (("stop", STOP_FAMILY), ("start/help", START_HELP_FAMILY), ("ordinary", ORDINARY))
    states = [s for s, _ in FACTS]
    weights = [w for _, w in FACTS]
    out = []
    for _ in range(size):
        family, pool = rng.choices(families, weights=(30, 10, 60))[0]
        sender_state, account_state = rng.choices(states, weights=weights)[0]
        sender = SENDER if rng.random() < 0.9 else None
        request = DecisionRequest(
            actor=Source.CONTACT,
            sender=sender,
            sender_state=sender_state if sender else ScopeFacts(),
            account_state=account_state,
            text=vary(rng, rng.choice(pool)),
        )
        out.append((family, request))
    return out


def agree(engines: list[RulesEngine], requests: list[DecisionRequest]) -> Counter[str]:
    """Check every engine gives the same Decision for every request; the transitions' mix."""
    mix: Counter[str] = Counter()
    for request in requests:
        decisions = [engine.decide(request) for engine in engines]
        if any(d != decisions[0] for d in decisions[1:]):
            detail = ", ".join(f"{e.backend}: {d}" for e, d in zip(engines, decisions, strict=True))
            raise AssertionError(f"engines disagree on {request.text!r}: {detail}")
        mix[decisions[0].transition.value] += 1
    return mix


def per_call(timing: Timing, count: int) -> str:
    """'X µs/decision, Y decisions/s' from a timing of `count` decisions."""
    seconds = timing.median / count
    return f"{seconds * 1e6:8.2f} µs/decision  {1 / seconds:>11,.0f} decisions/s"


def breakdown(
    compiled: CompiledRules, engines: list[RulesEngine], requests: list[DecisionRequest], runs: int
) -> None:
    """Where a decision's time goes: text matching, the fact dict, the engine, the Decision."""
    facts = [build_facts(compiled, r) for r in requests]
    texts = [r.text or "" for r in requests]
    parts: dict[str, Callable[[], object]] = {
        "normalize(body) only": lambda: [normalize(t) for t in texts],
        "match_text (all text matching)": lambda: [match_text(compiled, t) for t in texts],
        "build_facts (match_text + facts)": lambda: [build_facts(compiled, r) for r in requests],
    }
    for engine in engines:
        parts[f"{engine.backend} evaluate(facts) only"] = lambda e=engine: [  # type: ignore[misc]
            e.evaluate(f) for f, _ in facts
        ]
    rule = engines[0]
    ruled = [(rule.evaluate(f), f, m, r) for (f, m), r in zip(facts, requests, strict=True)]
    parts["build_decision (Decision, reply)"] = lambda: [
        build_decision(compiled, rl, f, m, r) for rl, f, m, r in ruled
    ]
    timings = interleave(parts, runs)
    print(f"  where the time goes (median of {runs}, per decision):")
    for name, timing in timings.items():
        print(f"    {name:<34} {per_call(timing, len(requests))}")


def by_family(
    compiled: CompiledRules, labelled: list[tuple[str, DecisionRequest]], runs: int
) -> None:
    """match_text's cost per family: keywords are found early, ordinary texts go all the way."""
    groups: dict[str, list[str]] = {}
    for family, request in labelled:
        groups.setdefault(family, []).append(request.text or "")
    subjects: dict[str, Callable[[], object]] = {
        family: lambda t=texts: [match_text(compiled, x) for x in t]  # type: ignore[misc]
        for family, texts in groups.items()
    }
    timings = interleave(subjects, runs)
    print("  match_text by family:")
    for family, timing in timings.items():
        count = len(groups[family])
        print(f"    {family:<12} ({count:>5} texts) {per_call(timing, count)}")


def run(quick: bool) -> None:
    """Decisions per second of both engines and of the dict baseline, with a breakdown."""
    size, runs = (1_000, 2) if quick else (6_000, 7)
    heading(f"rules: {size:,} inbound texts decided from {RULES.name} (median of {runs} runs)")
    compiled = load_rules(RULES)
    labelled = corpus(size)
    requests = [r for _, r in labelled]
    engines: list[RulesEngine] = []
    if durable_backend.available():
        engines.append(durable_backend.DurableEngine(compiled))
    else:
        print(f"  durable engine skipped: not importable here ({durable_backend.IMPORT_ERROR})")
    engines.append(PythonEngine(compiled))
    try:
        mix = agree(engines, requests)
        names = " and ".join(e.backend for e in engines)
        shown = ", ".join(f"{k} {v}" for k, v in mix.most_common())
        print(f"  {names} give the same Decision for all {size:,} texts ({shown})")
        measure(compiled, engines, labelled, runs)
    finally:
        for engine in engines:
            engine.close()
    run_largest(quick)


def measure(
    compiled: CompiledRules,
    engines: list[RulesEngine],
    labelled: list[tuple[str, DecisionRequest]],
    runs: int,
) -> None:
    """Time whole decisions against the dict baselines and print the table and ratios."""
    requests = [r for _, r in labelled]
    texts = [r.text or "" for r in requests]
    folded = [normalize(t) for t in texts]
    table = {word: hit.intent for word, hit in compiled.keywords.items()}
    subjects: dict[str, Callable[[], object]] = {
        f"{e.backend} decide": lambda e=e: [e.decide(r) for r in requests]  # type: ignore[misc]
        for e in engines
    }
    subjects["dict: normalize + get"] = lambda: [table.get(normalize(t)) for t in texts]
    subjects["dict: get (pre-normalized)"] = lambda: [table.get(t) for t in folded]
    timings = interleave(subjects, runs)
    for name, timing in timings.items():
        print(f"  {name:<28} {per_call(timing, len(requests))}  ({timing.spread()} per corpus)")
    baseline = timings["dict: normalize + get"]
    for engine in engines:
        subject = timings[f"{engine.backend} decide"]
        print(ratio_line(f"{engine.backend} vs dict", subject, baseline, None))
    if len(engines) == 2:
        print(ratio_line("durable vs python", timings["durable decide"], timings["python decide"],
                         None))
    print("  (dict: normalize + get = rules.normalize(body) and one dict.get on the compiled "
          "keyword table;\n   decide = text matching + facts + engine + Decision with reply)")
    breakdown(compiled, engines, requests, runs)
    by_family(compiled, labelled, runs)
