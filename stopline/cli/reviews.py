"""`stopline reviews`: the possible opt-outs in plain words, listed and decided from a terminal.

Everything goes through ConsentService, as the API's and the bot's review actions do: the first
decision counts and is recorded with who made it; a second one is refused (exit code 3).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click

from core.config import Settings
from core.errors import Conflict
from core.model import Actor, Source
from core.records import ReviewItem
from core.reviews import FILTERS, MAX_LIST
from stopline.cli.common import fail, operator, services_for
from stopline.cli.format import dump, one_line, when

ALREADY_DECIDED = 3  # the exit code of a refused second decision (the API's 409)
_VERDICTS = {"opt_out": "opted out", "not_opt_out": "dismissed (not an opt-out)"}


def _list_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--status", "status", type=click.Choice(FILTERS), default="open",
                     show_default=True,
                     help="open: waiting for an agent (oldest first); decided: the latest "
                          "decision first; all: open, then decided."),
        click.option("--phone", default=None, help="Only this contact's items."),
        click.option("--limit", type=click.IntRange(1, MAX_LIST), default=None,
                     help=f"At most this many items (1-{MAX_LIST}) [default: all]."),
        click.option("--json", "as_json", is_flag=True, help="Print JSON like the API."),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


@click.group(invoke_without_command=True)
@_list_options
@click.pass_context
def reviews(
    ctx: click.Context, status: str, phone: str | None, limit: int | None, as_json: bool
) -> None:
    """List review items (open ones by default), or decide one: `stopline reviews decide ID`.

    A review item is a text that may be an opt-out in plain words ("please stop texting me");
    an agent must decide it within 10 business days.
    """
    if ctx.invoked_subcommand is None:
        _show_list(ctx.obj, status, phone, limit, as_json)


@reviews.command("list")
@_list_options
@click.pass_obj
def list_command(
    settings: Settings, status: str, phone: str | None, limit: int | None, as_json: bool
) -> None:
    """List review items (the same as `stopline reviews` with these options)."""
    _show_list(settings, status, phone, limit, as_json)


def _show_list(
    settings: Settings, status: str, phone: str | None, limit: int | None, as_json: bool
) -> None:
    items = services_for(settings).consent.reviews(phone, status, limit)
    if as_json:
        click.echo(dump({"reviews": items}))
        return
    label = {"open": "open", "decided": "decided", "all": ""}[status]
    whose = f" for {phone}" if phone else ""
    if not items:
        click.echo(f"No {label + ' ' if label else ''}review items{whose}.")
        return
    now = datetime.now(UTC)
    for item in items:
        for line in describe(item, now):
            click.echo(line)
    more = " (the --limit; there may be more)" if limit is not None and len(items) == limit else ""
    click.echo(f"{len(items)} {label + ' ' if label else ''}review item(s){whose}{more}.")


def describe(item: ReviewItem, now: datetime) -> list[str]:
    """Human lines for one review item."""
    if item.status == "open":
        deadline = item.deadline if item.deadline.tzinfo else item.deadline.replace(tzinfo=UTC)
        late = "  OVERDUE" if deadline < now else ""
        state = f"open, decide by {when(item.deadline)}{late}"
    else:
        verdict = _VERDICTS.get(item.decision or "", item.decision or "?")
        state = f"decided: {verdict} by {item.decided_by or '?'} at {when(item.decided_at)}"
    return [
        f"#{item.id}  {state}",
        f"  contact {item.contact}, to {item.sender or 'the account'}, "
        f"opened {when(item.opened_at)}",
        f"  text    {one_line(item.message_text)}",
        f"  phrase  {one_line(item.phrase)}",
    ]


@reviews.command("show")
@click.argument("review_id", metavar="ID", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON like the API.")
@click.pass_obj
def show(settings: Settings, review_id: int, as_json: bool) -> None:
    """Show one review item, open or decided."""
    item = services_for(settings).consent.review(review_id)
    if as_json:
        click.echo(dump(item))
        return
    for line in describe(item, datetime.now(UTC)):
        click.echo(line)


@reviews.command("decide")
@click.argument("review_id", metavar="ID", type=int)
@click.option(
    "--opt-out",
    "opt_out",
    is_flag=True,
    help="It is an opt-out: the contact is opted out, as by their own STOP.",
)
@click.option("--dismiss", is_flag=True, help="It is not an opt-out: close it, change nothing.")
@click.option(
    "--actor", default=None, help="Who decided, as recorded [default: you, as cli:<login name>]."
)
@click.option("--json", "as_json", is_flag=True, help="Print the decided item as JSON.")
@click.pass_obj
def decide(
    settings: Settings,
    review_id: int,
    opt_out: bool,
    dismiss: bool,
    actor: str | None,
    as_json: bool,
) -> None:
    """Decide review item ID: --opt-out or --dismiss. The first decision counts."""
    if opt_out == dismiss:
        raise click.UsageError("say what the text is: --opt-out or --dismiss (one of them).")
    who = _actor(actor)
    consent = services_for(settings).consent
    try:
        item = consent.decide_review(review_id, opt_out, who)
    except Conflict as error:
        first = consent.review(review_id)
        verdict = _VERDICTS.get(first.decision or "", first.decision or "?")
        fail(
            f"{error.message} at {when(first.decided_at)} ({verdict}); the first decision "
            "counts and nothing was changed.",
            ALREADY_DECIDED,
        )
    if as_json:
        click.echo(dump(item))
        return
    verdict = _VERDICTS.get(item.decision or "", item.decision or "?")
    click.echo(f"Review #{item.id} {verdict} by {item.decided_by} at {when(item.decided_at)}.")
    if opt_out:
        status = consent.status(item.contact, item.sender)
        seen = item.sender or "the account"
        can = "may" if status.can_send else "may NOT"
        click.echo(f"{item.contact} from {seen}: {status.status.value} ({can} be texted).")


def _actor(name: str | None) -> Actor:
    """The person deciding: the login name, or --actor with the login name kept beside it."""
    me = operator()
    if name is None:
        return me
    cleaned = " ".join(name.split())
    if not cleaned:
        raise click.BadParameter("must name someone.", param_hint="--actor")
    # The account that ran the command stays in the record, whoever it names.
    return Actor(Source.AGENT, f"{cleaned} ({me.name})")
