"""`stopline import`: bulk load an existing opt-out list (six figures of rows) from a CSV file."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from core.config import Settings
from core.model import Actor, ImportSummary, Source
from stopline.cli.common import echo_or_stderr, fail, operator, services_for, tell
from stopline.cli.csvheader import SEPARATORS, HeaderError
from stopline.cli.csvlist import ListFile, ListFileError, Problem

MAX_LISTED = 20  # problems printed for a person; --json lists up to the service's limit


def count_lines(path: Path) -> int:
    """Count lines fast (bytes, no CSV parsing) to size the progress bar."""
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


@contextmanager
def progress(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal's stderr, else the label once; it never stops an import."""
    if not sys.stderr.isatty():
        tell(label)  # a closed stderr (`2>&1 | head`) must not abort the import
        yield lambda _lines: None
        return
    # stderr, not stdout: stdout carries the summary (or the JSON) for scripts.
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield bar.update


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--dry-run", is_flag=True, help="Say what would be taken, skipped and refused; store nothing."
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@click.pass_obj
def import_command(settings: Settings, file: Path, dry_run: bool, as_json: bool) -> None:
    """Bulk load an opt-out list from FILE (CSV with a phone column; sender, reason optional).

    Columns may be separated by commas, semicolons, tabs or pipes (read from the header).
    Each row becomes an import opt-out (the account, or the row's sender). Rows already
    opted out are skipped; malformed rows are listed with their line and the rest imported.
    A bad byte stops the import at its line, with every row before it stored: fix the file
    and run it again (rows already stored are skipped).
    """
    source = ListFile(file)
    try:
        source.check_header()
    except (HeaderError, ListFileError) as error:
        if as_json:  # a script gets its JSON whatever happened
            echo_or_stderr(json.dumps({"file": str(file), "error": str(error), "stored": 0,
                                       "complete": False}, indent=2))  # fmt: skip
        fail(str(error))
    services = services_for(settings)
    total = count_lines(file)
    actor = Actor(Source.IMPORT, f"{file.name} by {operator().name}")  # "old.csv by cli:ann"
    label = f"Checking {file.name} (dry run)" if dry_run else f"Importing {file.name}"
    with progress(total, label) as advance:
        try:
            summary = services.consent.import_optouts(source.rows(advance), actor, dry_run=dry_run)
        except ListFileError as error:
            fail(str(error))
        except KeyboardInterrupt:
            # Each chunk of rows commits on its own: what was stored stays, nothing is half-done.
            tell(
                f"Interrupted: the rows stored so far are kept; run `stopline import {file}` "
                "again to finish (rows already stored are skipped).",
                fg="red",
            )
            raise SystemExit(130) from None
    if summary.failed_at is not None:  # the ledger failed part way: a stop like a bad byte
        line, why = summary.failed_at
        source.stopped = Problem(line, f"the ledger failed ({why}); nothing from here was stored")
    report = summary_of(file, source, summary, dry_run)
    if as_json:
        echo_or_stderr(json.dumps(report, indent=2))
    else:
        print_summary(report)
    if source.stopped is not None:
        raise SystemExit(1)


def summary_of(
    file: Path, source: ListFile, summary: ImportSummary, dry_run: bool
) -> dict[str, object]:
    """Everything the import did, in one shape for people and for --json."""
    problems = [Problem(line, why) for line, why in summary.problems] + source.refused
    problems.sort(key=lambda p: p.line)
    stopped = source.stopped
    header = source.header
    return {
        "file": str(file),
        "dry_run": dry_run,
        "separator": SEPARATORS.get(header.delimiter, header.delimiter) if header else None,
        "taken": summary.taken,
        "stored": 0 if dry_run else summary.taken,
        "skipped": summary.skipped,
        "invalid": summary.invalid + source.refused_count,
        "refused": [{"line": p.line, "reason": p.reason} for p in problems],
        "refused_unlisted": summary.invalid
        - len(summary.problems)
        + source.refused_count
        - len(source.refused),
        "complete": stopped is None,
        "stopped": None if stopped is None else {"line": stopped.line, "reason": stopped.reason},
        "lines_read": source.lines_read if stopped is None else stopped.line - 1,
    }


def print_summary(report: dict[str, object]) -> None:
    """Rows taken, skipped and invalid on stdout; the problems and any stop on stderr."""
    name = Path(str(report["file"])).name
    taken = "would be taken" if report["dry_run"] else "taken"
    nothing = " (dry run: nothing stored)" if report["dry_run"] else ""
    echo_or_stderr(
        f"{name}: {report['taken']} {taken}, {report['skipped']} skipped (already opted out), "
        f"{report['invalid']} invalid{nothing}."
    )
    refused = report["refused"]
    assert isinstance(refused, list)
    for problem in refused[:MAX_LISTED]:
        tell(f"  line {problem['line']}: {problem['reason']}")
    unlisted = len(refused) - MAX_LISTED + int(str(report["refused_unlisted"]))
    if unlisted > 0:
        tell(f"  ... and {unlisted} more invalid rows (--json lists more).")
    stopped = report["stopped"]
    if isinstance(stopped, dict):
        done = (
            f"{report['taken']} row(s) would have been stored"
            if report["dry_run"]
            else (f"{report['stored']} row(s) stored")
        )
        tell(
            f"Stopped at line {stopped['line']}: {stopped['reason']}. Lines 1-"
            f"{report['lines_read']} were read and {done}; nothing from line "
            f"{stopped['line']} on. Fix what stopped it (for a bad byte, save the file as "
            "'CSV UTF-8') and run the same import again: rows already stored are skipped.",
            fg="red",
        )
