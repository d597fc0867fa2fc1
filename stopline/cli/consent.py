"""Consent from a terminal: status, opt-out, opt-in and export, all through ConsentService."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import IO

import click

from core.config import Settings
from core.dates import parse_moment
from core.errors import InvalidInput
from core.model import ConsentStatus, Outcome
from stopline.cli.common import fail, operator, services_for
from stopline.cli.importing import import_command
from stopline.dbfile import empty_relative_warning
from web.serialize import status_json

__all__ = ["export_command", "import_command", "optin", "optout", "status"]

SENDER_HELP = "The business number (or short code); omit for the whole account."


def describe(status: ConsentStatus) -> list[str]:
    """Human lines for a contact's consent as seen from one sender (or the account)."""
    seen_from = status.sender or "the account"
    lines = [
        f"{status.phone} from {seen_from}: {status.status.value}"
        f" ({'may' if status.can_send else 'may NOT'} be texted)"
    ]
    if status.opted_out_by is not None:
        scope = status.scope.value if status.scope else "?"
        since = status.since.isoformat(timespec="seconds") if status.since else "?"
        lines.append(f"  opted out by {status.opted_out_by.value}, {scope} scope, since {since}")
    for row in status.scopes:
        where = row.sender or "account"
        by = f" by {row.source.value} ({row.actor})" if row.source else ""
        since = f" since {row.since.isoformat(timespec='seconds')}" if row.since else ""
        lines.append(f"  - {where}: {row.status.value}{by}{since}")
    return lines


def report(outcome: Outcome, done: str, already: str) -> None:
    """Say what an opt-out or opt-in did, then the contact's status."""
    if outcome.changed:
        event = f" (event #{outcome.event_id})" if outcome.event_id is not None else ""
        click.echo(f"{done}{event}.")
    else:
        click.echo(f"{already}; nothing changed.")
    for line in describe(outcome.status):
        click.echo(line)


@click.command()
@click.argument("phone")
@click.option("--sender", default=None, help=SENDER_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON like the API.")
@click.pass_obj
def status(settings: Settings, phone: str, sender: str | None, as_json: bool) -> None:
    """Show whether PHONE may be texted (from --sender, or from the account)."""
    services = services_for(settings)
    result = services.consent.status(phone, sender)
    warning = empty_relative_warning(settings, services.database)
    if warning is not None:  # "may be texted" from a ledger that may not be the real one
        click.secho(f"Warning: {warning}", fg="yellow", err=True)
    if as_json:
        click.echo(json.dumps(status_json(result), indent=2))
        return
    for line in describe(result):
        click.echo(line)


@click.command()
@click.argument("phone")
@click.option("--sender", default=None, help=SENDER_HELP)
@click.option("--reason", required=True, help="Why (kept in the ledger), e.g. 'asked on a call'.")
@click.pass_obj
def optout(settings: Settings, phone: str, sender: str | None, reason: str) -> None:
    """Opt PHONE out, recorded as an agent's opt-out made by you."""
    outcome = services_for(settings).consent.opt_out(phone, sender, operator(), reason)
    report(outcome, f"Opted out {outcome.status.phone}", "Already opted out")


@click.command()
@click.argument("phone")
@click.option("--sender", default=None, help=SENDER_HELP)
@click.option("--reason", default=None, help="Why (kept in the ledger).")
@click.pass_obj
def optin(settings: Settings, phone: str, sender: str | None, reason: str | None) -> None:
    """Opt PHONE back in. Refused when the contact opted out by text (only they can undo it)."""
    outcome = services_for(settings).consent.opt_in(phone, sender, operator(), reason)
    report(outcome, f"Opted in {outcome.status.phone}", "Already subscribed")


def _since(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_moment(value)
    except InvalidInput as exc:
        raise click.BadParameter(exc.message) from None


@click.command("export")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to FILE instead of standard output.",
)
@click.option(
    "--since",
    callback=_since,
    default=None,
    help="Only opt-outs made at or after this date or ISO 8601 time (UTC), e.g. 2025-04-11.",
)
@click.option(
    "--until",
    callback=_since,
    default=None,
    help="Only opt-outs made before this date or time (UTC; not included), e.g. 2025-05-01: "
    "--since 2025-04-01 --until 2025-05-01 is April.",
)
@click.option("--sender", default=None, help="Only opt-outs that cover this sender number.")
@click.pass_obj
def export_command(
    settings: Settings,
    out: Path | None,
    since: datetime | None,
    until: datetime | None,
    sender: str | None,
) -> None:
    """Export the opted-out list as CSV (streamed, safe to open in a spreadsheet)."""
    if since is not None and until is not None and until <= since:
        fail(
            f"--until {until.isoformat()} is not later than --since {since.isoformat()}; "
            "the export lists opt-outs made at or after --since and before --until.",
            2,
        )
    if out is not None and not out.parent.is_dir():
        fail(f"cannot write {out}: the directory {out.parent} does not exist.")
    chunks = services_for(settings).consent.export_csv(since=since, sender=sender, until=until)
    if out is None:
        sys.stdout.flush()
        write_chunks(chunks, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        click.echo(f"{chunks.rows} opt-out(s) exported.", err=True)
        return
    # Write beside the target and rename, so a failed export never leaves half a file.
    partial = out.with_name(out.name + ".partial")
    try:
        with partial.open("wb") as handle:
            write_chunks(chunks, handle)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    click.echo(f"{chunks.rows} opt-out(s) exported to {out}.", err=True)


def write_chunks(chunks: Iterable[bytes], handle: IO[bytes]) -> None:
    """Write the CSV's bytes as the database builds them."""
    for chunk in chunks:
        handle.write(chunk)
