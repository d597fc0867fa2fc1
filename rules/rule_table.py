"""The transition rules: equality tests on extracted facts, compiled from rules.yml's commands
and guards, in priority order. Both engines evaluate exactly this table."""

from __future__ import annotations

from dataclasses import dataclass, replace

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
    when: tuple[tuple[str, str], ...]
    transition: Transition
    scope: str = "fact"  # "fact" = the scope in the facts; else a fixed "sender"/"account"
    reply: str | None = None  # which reply: "opt_out", "opt_in", "help", "already_subscribed"
    reason: str | None = None
    pri: int = 0  # the rule's place in the table (transition_rules numbers them)


def transition_rules(model: RulesFile) -> tuple[Rule, ...]:
    """The transition rules, in priority order; the last one catches every event."""
    msg = (("kind", "message"),)
    cmd = (("kind", "command"),)
    rules: list[Rule] = []
    for name in model.guards:
        rules.append(Rule(f"guard:{name}", (*msg, ("guard", name)), Transition.NONE))
    out, opt_in = (("intent", "opt_out"),), (("intent", "opt_in"),)
    rules += [
        Rule(
            "already_opted_out_by_contact",
            (*msg, *out, ("row_status", "opted_out"), ("row_by", "contact")),
            Transition.NONE,
        ),
        Rule("opt_out", (*msg, *out, ("reachable", "yes")), Transition.OPT_OUT, reply="opt_out"),
        Rule("opt_out_no_reply", (*msg, *out), Transition.OPT_OUT),
        Rule(
            "opt_in_account",
            (*msg, *opt_in, ("account_status", "opted_out")),
            Transition.OPT_IN,
            scope="account",
            reply="opt_in",
        ),
        Rule(
            "opt_in",
            (*msg, *opt_in, ("sender_status", "opted_out")),
            Transition.OPT_IN,
            scope="sender",
            reply="opt_in",
        ),
        # Nothing to lift: no change; the already_subscribed reply when rules.yml has one.
        Rule("opt_in_not_needed", (*msg, *opt_in), Transition.NONE, reply="already_subscribed"),
        Rule("help", (*msg, ("intent", "help")), Transition.HELP, reply="help"),
        Rule("review", (*msg, ("intent", "review"), ("reachable", "yes")), Transition.REVIEW),
        Rule("review_not_reachable", (*msg, ("intent", "review")), Transition.NONE),
        Rule("no_keyword", msg, Transition.NONE),
    ]
    allowed = {"opt_out": model.commands.opt_out.actors, "opt_in": model.commands.opt_in.actors}
    for command, actors in allowed.items():
        for actor in ("contact", "agent", "api", "import"):
            if actor not in actors:
                rules.append(
                    Rule(
                        "actor_not_permitted",
                        (*cmd, ("command", command), ("actor", actor)),
                        Transition.REFUSE,
                        reason=ACTOR_REFUSED,
                    )
                )
    c_out, c_in = (*cmd, ("command", "opt_out")), (*cmd, ("command", "opt_in"))
    rules += [
        Rule("command_opt_out", (*c_out, ("row_status", "subscribed")), Transition.OPT_OUT),
        Rule("already_opted_out", c_out, Transition.NONE),
        Rule("not_opted_out", (*c_in, ("row_status", "subscribed")), Transition.NONE),
        Rule(
            "contact_only",
            (*c_in, ("row_by", "contact")),
            Transition.REFUSE,
            reason=CONTACT_ONLY,
        ),
    ]
    for source in dict.fromkeys(model.commands.opt_in.may_reverse):  # a repeat adds nothing
        if source != "contact":  # the floor again, whatever the file says
            rules.append(Rule("command_opt_in", (*c_in, ("row_by", source)), Transition.OPT_IN))
    rules += [
        Rule("opt_in_not_permitted", c_in, Transition.REFUSE, reason=NOT_PERMITTED),
        Rule("no_rule", (("_e", "1"),), Transition.NONE),
    ]
    # explicit, distinct priorities: durable's tie-break is undocumented
    return tuple(replace(rule, pri=place) for place, rule in enumerate(rules))
