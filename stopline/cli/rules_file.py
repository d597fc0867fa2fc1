"""`stopline rules check` and `stopline rules try`: edit rules.yml with confidence."""

from __future__ import annotations

import json
from dataclasses import asdict
from enum import Enum
from pathlib import Path

import click

from core.config import Settings
from core.model import Decision, Scope, Source, Status
from core.phone import normalize_phone, normalize_sender

RULES_FILE = click.Path(dir_okay=False, path_type=Path)


@click.group()
def rules() -> None:
    """Check rules.yml and try messages against it."""


@rules.command("check")
@click.argument("file", type=RULES_FILE, required=False)
@click.pass_obj
def check(settings: Settings, file: Path | None) -> None:
    """Check a rules file (default: STOPLINE_RULES_PATH or ./rules.yml); exit 1 on problems."""
    from rules import evaluator
    from stopline.cli.rules_check import check_file

    path = file or settings.rules_path
    if not path.exists():
        raise click.UsageError(f"{path} does not exist.")
    ok, lines = check_file(path)
    for line in lines:
        click.echo(line, err=not ok)
    if ok:  # on which evaluator the service would decide, here (this Python, these packages)
        click.echo(f"evaluator: {evaluator()}")
    if not ok:
        raise SystemExit(1)


@rules.command("try")
@click.argument("text")
@click.option(
    "--from", "contact", default="+12065550100", show_default=True, help="The contact who texts."
)
@click.option(
    "--to",
    "sender",
    default="+12065550199",
    show_default=True,
    help="The business number (or short code) texted.",
)
@click.option(
    "--status",
    type=click.Choice([s.value for s in Status]),
    default=Status.SUBSCRIBED.value,
    show_default=True,
    help="The contact's current status.",
)
@click.option(
    "--by",
    type=click.Choice([s.value for s in Source]),
    default=None,
    help="Who made the current opt-out [default: contact when --status opted_out].",
)
@click.option(
    "--scope",
    type=click.Choice([s.value for s in Scope]),
    default=Scope.SENDER.value,
    show_default=True,
    help="Where the current opt-out is: this sender or the account.",
)
@click.option(
    "--rules",
    "file",
    type=RULES_FILE,
    default=None,
    help="Rules file [default: STOPLINE_RULES_PATH or ./rules.yml].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON.")
@click.pass_obj
def try_(
    settings: Settings,
    text: str,
    contact: str,
    sender: str,
    status: str,
    by: str | None,
    scope: str,
    file: Path | None,
    as_json: bool,
) -> None:
    """Show what the rules decide for a contact's message TEXT: transition, rule and reply."""
    from rules import build_engine, load_rules, try_text

    normalize_phone(contact, settings.default_region)  # a typo in --from is an error, not a guess
    if by is not None and status != Status.OPTED_OUT.value:
        raise click.UsageError("--by needs --status opted_out.")
    engine = build_engine(load_rules(file or settings.rules_path))
    try:
        decision = try_text(
            engine, text,
            sender=normalize_sender(sender, settings.default_region), contact=contact,
            status=status, by=by, scope=scope,
        )  # fmt: skip
    finally:
        engine.close()
    if as_json:
        click.echo(json.dumps(decision_json(decision), indent=2, ensure_ascii=False))
    else:
        for line in describe(decision):
            click.echo(line)


def decision_json(decision: Decision) -> dict[str, object]:
    """A decision as plain JSON values."""
    return {k: v.value if isinstance(v, Enum) else v for k, v in asdict(decision).items()}


def describe(decision: Decision) -> list[str]:
    """Aligned lines a person can read."""
    keyword = decision.keyword or "-"
    if decision.keyword and decision.language:
        keyword += f" ({decision.language})"
    lines = [
        f"decision: {decision.transition.value} ({decision.scope.value} scope)",
        f"rule:     {decision.rule}",
        f"keyword:  {keyword}",
        f"reply:    {decision.reply if decision.reply is not None else '(none)'}",
    ]
    if decision.reason:
        lines.append(f"reason:   {decision.reason}")
    lines.append(f"rules:    {decision.rules_version[:12]}")
    return lines
