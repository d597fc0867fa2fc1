"""`stopline db`: upgrade the ledger's schema, or say where it stands without changing it."""

from __future__ import annotations

import click

from core.config import Settings
from ledger.dburl import sqlite_file
from stopline.dbfile import how_to_point, relative_note, require_file
from stopline.wiring import safe_url


@click.group()
def db() -> None:
    """Manage the consent ledger's database."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(settings: Settings) -> None:
    """Create or upgrade the database schema to the latest version."""
    from stopline.wiring import current_revision, migrate

    path = sqlite_file(settings.database_url)
    created = path is not None and not path.exists()
    before = None if created else current_revision(settings)
    migrate(settings)
    after = current_revision(settings)
    where = safe_url(settings.database_url)
    if created:
        click.echo(f"Created a new, empty ledger at {where} (revision {after}); it is up to date.")
        note = relative_note(settings)
        if note:
            click.secho(
                f"Note: it holds no opt-outs{note}. If your ledger is elsewhere, delete this "
                f"file. {how_to_point()}.",
                fg="yellow",
                err=True,
            )
    elif before == after:
        click.echo(f"Database {where} is up to date (revision {after}).")
    else:
        click.echo(
            f"Database {where} upgraded from revision {before or 'none (empty schema)'} "
            f"to {after}; it is up to date."
        )


@db.command("status")
@click.pass_obj
def db_status(settings: Settings) -> None:
    """Show the ledger's path, its schema revision and the pending migrations (changes nothing).

    Exits 0 when the schema is up to date, 1 when the ledger is missing or needs an upgrade.
    """
    from stopline.dbfile import NoLedger
    from stopline.wiring import pending_revisions, schema_revisions

    click.echo(f"database: {safe_url(settings.database_url)}")
    try:
        require_file(settings)
    except NoLedger as error:
        click.echo(f"revision: none: {error.message}")
        raise SystemExit(1) from None
    current, head = schema_revisions(settings)
    click.echo(f"revision: {current or 'none (not migrated)'}")
    click.echo(f"head:     {head}")
    pending = pending_revisions(settings, current)
    if not pending:
        click.echo("pending:  none; the schema is up to date.")
        return
    click.echo(f"pending:  {', '.join(pending)}")
    click.echo("Run `stopline db upgrade` to apply them.")
    raise SystemExit(1)
