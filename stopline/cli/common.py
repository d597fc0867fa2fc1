"""Helpers shared by the CLI's commands: errors, the operator's identity, wiring."""

from __future__ import annotations

import contextlib
import getpass
import os
import sys
from typing import TYPE_CHECKING, NoReturn

import click

from core.model import Actor, Source

if TYPE_CHECKING:
    from core.config import Settings
    from stopline.wiring import Services


def fail(message: str, code: int = 1) -> NoReturn:
    """Print an error to stderr and exit: the one way a command reports a user error."""
    click.secho(f"Error: {message}", fg="red", err=True)
    sys.exit(code)


def operator() -> Actor:
    """The person at the terminal, recorded in the ledger as an agent."""
    try:
        user = getpass.getuser()
    except Exception:  # no login name (e.g. a container without /etc/passwd entry)
        user = "unknown"
    return Actor(Source.AGENT, f"cli:{user}")


def services_for(settings: Settings) -> Services:
    """Wire the service layer for one command (rules loaded, database migrated and connected)."""
    from stopline.wiring import build_services, ensure_migrated

    ensure_migrated(settings)  # "run stopline db upgrade" beats "no such table: consent"
    services = build_services(settings)
    # Free the rules engine and the pool when the command ends (many commands run in one
    # process under tests).
    click.get_current_context().call_on_close(services.close)
    return services


def quiet_stdout() -> None:
    """Point stdout at /dev/null once its reader has gone (`stopline export | head`).

    Python's own flush at exit would otherwise fail again and print a traceback.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real file descriptor (click's test runner)
        pass


def echo_or_stderr(text: str) -> None:
    """Print a result on stdout; if nobody reads stdout any more, say it on stderr instead.

    For what a person must not miss (how many rows an import stored): a closed pipe on
    stdout is no reason to lose it.
    """
    try:
        click.echo(text)
        sys.stdout.flush()
    except BrokenPipeError:
        quiet_stdout()
        tell(text)


def tell(text: str, fg: str | None = None) -> None:
    """A line on stderr that no closed pipe turns into a failure (the work is done by then)."""
    with contextlib.suppress(BrokenPipeError):
        click.secho(text, err=True, fg=fg)
