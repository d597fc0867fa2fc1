"""The transition rules: equality tests on extracted facts, compiled from rules.yml's commands
and guards, in priority order. Both engines evaluate exactly this table."""

from __future__ import annotations

from dataclasses import dataclass

from core.model import Transition
from core.text import CONTACT_ONLY
from rules.schema import RulesFile

NOT_PERMITTED = (
    "This contact was opted out by {row_by}; rules.yml does not let an agent or the API "
    "reverse that (commands.opt_in.may_reverse)."
)
ACTOR_REFUSED = "rules.yml does not let {actor} run {command} (commands.{command}.actors)."


@dataclass(frozen=True, slots=True)
class Rule:
    """One transition rule: equality tests on the facts, and the outcome when it fires."""

    name: str
    pri: int
    when: tuple[tuple[str, str], ...]
    transition: Transition
    scope: str = "fact"  # "fact" = the scope in the facts; else a fixed "sender"/"account"
    reply: str | None = None  # which reply: "opt_out", "opt_in", "help", "already_subscribed"
    reason: str | None = None


def transition_rules(model: RulesFile) -> tuple[Rule, ...]:
    """The transition rules, in priority order; the last one catches every event."""
    msg = (("kind", "message"),)
    cmd = (("kind", "command"),)
    rules: list[Rule] = []
    for name in model.guards:
        rules.append(Rule(f"guard:{name}", 0, (*msg, ("guard", name)), Transition.NONE))
    out, opt_in = (("intent", "opt_out"),), (("intent", "opt_in"),)
    rules += [
        Rule(
            "already_opted_out_by_contact",
            0,
            (*msg, *out, ("row_status", "opted_out"), ("row_by", "contact")),
            Transition.NONE,
        ),
        Rule("opt_out", 0, (*msg, *out, ("reachable", "yes")), Transition.OPT_OUT, reply="opt_out"),
        Rule("opt_out_no_reply", 0, (*msg, *out), Transition.OPT_OUT),
        Rule(
            "opt_in_account",
            0,
            (*msg, *opt_in, ("account_status", "opted_out")),
            Transition.OPT_IN,
            scope="account",
            reply="opt_in",
        ),
        Rule(
            "opt_in",
            0,
            (*msg, *opt_in, ("sender_status", "opted_out")),
            Transition.OPT_IN,
            scope="sender",
            reply="opt_in",
        ),
        # Nothing to lift: no change; the already_subscribed reply when rules.yml has one.
        Rule("opt_in_not_needed", 0, (*msg, *opt_in), Transition.NONE, reply="already_subscribed"),
        Rule("help", 0, (*msg, ("intent", "help")), Transition.HELP, reply="help"),
        Rule("review", 0, (*msg, ("intent", "review"), ("reachable", "yes")), Transition.REVIEW),
        Rule("review_not_reachable", 0, (*msg, ("intent", "review")), Transition.NONE),
        Rule("no_keyword", 0, msg, Transition.NONE),
    ]
    allowed = {"opt_out": model.commands.opt_out.actors, "opt_in": model.commands.opt_in.actors}
    for command, actors in allowed.items():
        for actor in ("contact", "agent", "api", "import"):
            if actor not in actors:
                rules.append(
                    Rule(
                        "actor_not_permitted",
                        0,
                        (*cmd, ("command", command), ("actor", actor)),
                        Transition.REFUSE,
                        reason=ACTOR_REFUSED,
                    )
                )
    c_out, c_in = (*cmd, ("command", "opt_out")), (*cmd, ("command", "opt_in"))
    rules += [
        Rule("command_opt_out", 0, (*c_out, ("row_status", "subscribed")), Transition.OPT_OUT),
        Rule("already_opted_out", 0, c_out, Transition.NONE),
        Rule("not_opted_out", 0, (*c_in, ("row_status", "subscribed")), Transition.NONE),
        Rule(
            "contact_only",
            0,
            (*c_in, ("row_by", "contact")),
            Transition.REFUSE,
            reason=CONTACT_ONLY,
        ),
    ]
    for source in dict.fromkeys(model.commands.opt_in.may_reverse):  # a repeat adds nothing
        if source != "contact":  # the floor again, whatever the file says
            rules.append(Rule("command_opt_in", 0, (*c_in, ("row_by", source)), Transition.OPT_IN))
    rules += [
        Rule("opt_in_not_permitted", 0, c_in, Transition.REFUSE, reason=NOT_PERMITTED),
        Rule("no_rule", 0, (("_e", "1"),), Transition.NONE),
    ]
    # explicit, distinct priorities: durable's tie-break is undocumented
    return tuple(
        Rule(r.name, (i + 1) * 10, r.when, r.transition, r.scope, r.reply, r.reason)
        for i, r in enumerate(rules)
    )
