"""`stopline import`: bulk load an existing opt-out list (six figures of rows) from a CSV file."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from core.config import Settings
from core.model import Actor, ImportSummary, Source
from stopline.cli_common import fail, operator, services_for

# Header names seen in exports of other tools, mapped to the names the service reads.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "phone": (
        "phone",
        "number",
        "phone_number",
        "phonenumber",
        "mobile",
        "mobile_number",
        "contact",
        "msisdn",
        "e164",
    ),
    "sender": ("sender", "sender_number", "business_number", "from_number", "short_code"),
    "reason": ("reason", "note", "notes", "comment"),
    "opted_out_at": ("opted_out_at", "opted_out", "date", "since", "timestamp", "created_at"),
}


def canonical(header: str) -> str:
    """Fold a header cell so 'Phone Number' and 'phone-number' read the same."""
    return header.strip().lower().replace(" ", "_").replace("-", "_")


def column_map(headers: list[str]) -> dict[str, str]:
    """Map each file header that stopline understands to the service's column name."""
    mapping: dict[str, str] = {}
    for header in headers:
        folded = canonical(header)
        for name, aliases in COLUMN_ALIASES.items():
            if folded in aliases and name not in mapping.values():
                mapping[header] = name
    return mapping


def looks_like_phone(cell: str) -> bool:
    """True for a cell that is a number rather than a header (a list without a header row)."""
    digits = sum(ch.isdigit() for ch in cell)
    return digits >= 5 and digits >= len(cell.strip()) // 2


def count_lines(path: Path) -> int:
    """Count lines fast (bytes, no CSV parsing) to size the progress bar."""
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def dialect_of(path: Path) -> type[csv.Dialect] | csv.Dialect:
    """The file's CSV dialect: commas, or the semicolons and tabs of European spreadsheets."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        sample = handle.read(64 * 1024)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel  # one column, or nothing to tell: plain CSV


def plan_columns(path: Path) -> dict[str, int] | None:
    """Read the header: column positions by service name, or None for a bare list of numbers."""
    # utf-8-sig: spreadsheets often save a byte-order mark before the first header.
    with path.open(newline="", encoding="utf-8-sig") as handle:
        first = next(csv.reader(handle, dialect_of(path)), None)
    if first is None:
        fail(f"{path} is empty.")
    mapping = column_map(first)
    if "phone" in mapping.values():
        return {name: first.index(header) for header, name in mapping.items()}
    if len(first) == 1 and looks_like_phone(first[0]):
        return None
    accepted = ", ".join(COLUMN_ALIASES["phone"])
    fail(
        f"{path}: no phone column in the header {first!r}. "
        f"Name it one of: {accepted} (sender, reason and opted_out_at are optional)."
    )


def read_rows(
    path: Path, columns: dict[str, int] | None, advance: Callable[[int], None]
) -> Iterator[dict[str, str]]:
    """Yield rows keyed by the service's column names (a bare list has no header to skip)."""
    index = columns if columns is not None else {"phone": 0}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle, dialect_of(path))
        if columns is not None:
            next(reader, None)
        # Blank lines are passed on too: the service numbers rows, and its error messages
        # must point at the file's real lines.
        for cells in reader:
            advance(1)
            yield {name: cells[i].strip() if i < len(cells) else "" for name, i in index.items()}


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def import_command(settings: Settings, file: Path) -> None:
    """Bulk load an opt-out list from FILE (CSV with a phone column; sender, reason optional).

    Each row becomes an import opt-out (the account, or the row's sender). Rows already
    opted out are skipped; rows that are not phone numbers are counted and listed.
    """
    try:
        columns = plan_columns(file)
        services = services_for(settings)
        total = count_lines(file) - (1 if columns is not None else 0)
        # The file and who loaded it: "old-list.csv by cli:ann".
        actor = Actor(Source.IMPORT, f"{file.name} by {operator().name}")
        with click.progressbar(length=total, label=f"Importing {file.name}") as bar:
            summary = services.consent.import_optouts(read_rows(file, columns, bar.update), actor)
    except (UnicodeDecodeError, csv.Error) as error:
        # Rows before the bad spot are already in the ledger; a re-run skips them.
        fail(
            f"{file} is not a readable CSV file ({error}). Save it as 'CSV UTF-8' and run the "
            "import again; rows already imported are skipped."
        )
    print_summary(file, summary)


def print_summary(file: Path, summary: ImportSummary) -> None:
    """Rows taken, skipped and invalid, with the first few problems."""
    click.echo(
        f"{file.name}: {summary.taken} taken, {summary.skipped} skipped (already opted out), "
        f"{summary.invalid} invalid."
    )
    for error in summary.errors:
        click.echo(f"  {error}", err=True)
    if summary.invalid > len(summary.errors):
        unlisted = summary.invalid - len(summary.errors)
        click.echo(f"  ... and {unlisted} more invalid rows (only the first are listed).", err=True)
