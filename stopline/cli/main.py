"""The `stopline` command: serve, migrate, check rules, and manage consent from a terminal."""

from __future__ import annotations

import sys
from typing import Any

import click
from alembic.util import CommandError as AlembicError
from pydantic import ValidationError

from core.config import Settings
from core.errors import DatabaseUnavailable, StoplineError, answer_for
from core.text import first_line
from ledger.dialects import DATABASE_ERRORS
from rules.errors import RulesError
from stopline.cli.common import fail, quiet_stdout
from stopline.cli.consent import export_command, import_command, optin, optout, status
from stopline.cli.db import db
from stopline.cli.history import history
from stopline.cli.reviews import reviews
from stopline.cli.rules_file import rules
from stopline.cli.slack import slack
from stopline.wiring import safe_url


class StoplineGroup(click.Group):
    """A click group that turns every StoplineError into a clear message and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RulesError as error:
            # Each problem on its own line as file:line at path: message, like a compiler.
            click.secho(f"Error: {error.message}", fg="red", err=True)
            for problem in error.problems:
                click.echo(f"  {problem}", err=True)
            click.echo("Fix the file, then run `stopline rules check`.", err=True)
            sys.exit(answer_for(error).exit_code)
        except StoplineError as error:
            # The exit code is core.errors.ANSWERS' (2 for a phone number given wrongly).
            detail = error.detail
            if isinstance(error, DatabaseUnavailable):
                detail = naming_database(ctx, detail)
            fail(detail, answer_for(error).exit_code)
        except DATABASE_ERRORS as error:
            # The service maps what it expects; a bad URL or a missing driver lands here.
            fail(naming_database(ctx, f"database error: {first_line(error)}") + ". Check "
                 "STOPLINE_DATABASE_URL.")  # fmt: skip
        except AlembicError as error:
            fail(f"migration failed: {first_line(error)}")
        except BrokenPipeError:
            # The reader of stdout left (`stopline export | head`): quietly, like cat or git.
            # 141 is what a shell reports for a command ended by SIGPIPE.
            quiet_stdout()
            sys.exit(141)
        except OSError as error:
            fail(str(error))


def naming_database(ctx: click.Context, message: str) -> str:
    """The message with the database it is about (absolute path, no password) when it lacks it."""
    settings = ctx.obj
    if not isinstance(settings, Settings):
        return message
    where = safe_url(settings.database_url)
    return message if where in message else f"{message} (database {where})"


@click.group(cls=StoplineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="stopline", prog_name="stopline")
@click.pass_context
def main(ctx: click.Context) -> None:
    """stopline keeps SMS consent: STOP/START keywords, agent opt-outs, and a send check.

    Settings come from STOPLINE_* environment variables or a .env file (see .env.example).
    """
    try:
        ctx.obj = Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}"
            for e in error.errors()
        )
        fail(f"invalid setting ({problems}). Check your STOPLINE_* variables and .env.")


@main.command()
@click.option("--host", default=None, help="Address [default: STOPLINE_HOST or 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [default: STOPLINE_PORT or 8000].")
@click.option("--workers", type=int, default=None, help="Processes [default: STOPLINE_WORKERS, 2].")
@click.pass_obj
def serve(settings: Settings, host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the Twilio web hook, the consent API, /healthz and /metrics."""
    from stopline.server.serve import run

    updates: dict[str, object] = {}
    if host is not None:
        updates["host"] = host
    if port is not None:
        updates["port"] = port
    if workers is not None:
        if workers < 1:
            fail("--workers must be at least 1", 2)
        updates["workers"] = workers
    run(settings.model_copy(update=updates))


main.add_command(db)
main.add_command(rules)
main.add_command(status)
main.add_command(optout)
main.add_command(optin)
main.add_command(export_command)
main.add_command(import_command)
main.add_command(slack)
main.add_command(reviews)
main.add_command(history)
