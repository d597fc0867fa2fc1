"""`stopline history PHONE`: a contact's consent events from the ledger, newest first."""

from __future__ import annotations

import click

from core.config import Settings
from core.phone import normalize_phone
from core.records import ConsentEvent
from core.reviews import MAX_LIST
from stopline.cli.common import services_for
from stopline.cli.format import dump, one_line, when


@click.command()
@click.argument("phone")
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_LIST),
    default=200,
    show_default=True,
    help="At most this many events, the newest.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON like the API.")
@click.pass_obj
def history(settings: Settings, phone: str, limit: int, as_json: bool) -> None:
    """Show PHONE's consent history: every opt-out, opt-in, refusal and review, newest first.

    PHONE may be written as the API takes it: +12065550100, (206) 555-0100, 206.555.0100...
    """
    consent = services_for(settings).consent
    # As the API reads it; a malformed number is refused with the reason (exit code 2).
    contact = normalize_phone(phone, consent.region)
    events = consent.events(contact, limit)
    if as_json:
        click.echo(dump({"phone": contact, "events": events}))
        return
    if not events:
        click.echo(f"No consent events for {contact}: it never opted out or in.")
        return
    for event in events:
        for line in describe(event):
            click.echo(line)
    more = f"; the newest {limit} (--limit shows more)" if len(events) == limit else ""
    click.echo(f"{len(events)} event(s) for {contact}, newest first{more}.")


def describe(event: ConsentEvent) -> list[str]:
    """Human lines for one event of the ledger."""
    where = f"sender {event.sender}" if event.scope.value == "sender" else "account-wide"
    change = ""
    if event.previous_status is not None or event.new_status is not None:
        before = event.previous_status.value if event.previous_status else "-"
        after = event.new_status.value if event.new_status else "-"
        change = f"  {before} -> {after}"
    lines = [
        f"{when(event.at)}  {event.action.value}  {where}{change}",
        f"  by      {event.source.value} {one_line(event.actor, 80)}",
    ]
    rule = event.rule or "-"
    keyword = f", keyword {one_line(event.keyword, 40)}" if event.keyword else ""
    lines.append(f"  rule    {rule}{keyword}")
    if event.message_text is not None:
        lines.append(f"  text    {one_line(event.message_text)}")
    if event.reason:
        lines.append(f"  reason  {one_line(event.reason)}")
    if event.carrier_message_id:
        lines.append(f"  message {event.carrier or '?'} {event.carrier_message_id}")
    return lines
