"""The opted-out list streamed out of the ledger, safe to open in a spreadsheet."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import select

from core.db import Database
from core.model import ACCOUNT, Scope, Status
from core.tables import consent

EXPORT_HEADER = (
    "phone", "scope", "sender", "opted_out_by", "actor", "at",
    "message_text", "keyword", "rule", "reason",
)  # fmt: skip
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str | None) -> str:
    """A free-text cell that a spreadsheet will not run as a formula (OWASP's CSV advice)."""
    if not cell:
        return ""
    return "'" + cell if cell.startswith(_FORMULA_PREFIXES) else cell


def export_optouts(
    database: Database, since: datetime | None = None, sender: str | None = None
) -> Iterator[tuple[str, ...]]:
    """Yield the header, then one row per opted-out scope, streamed from the database."""
    query = select(
        consent.c.contact, consent.c.scope_key, consent.c.source, consent.c.actor,
        consent.c.since, consent.c.message_text, consent.c.keyword, consent.c.rule,
        consent.c.reason,
    ).where(consent.c.status == Status.OPTED_OUT.value)  # fmt: skip
    if since is not None:
        query = query.where(consent.c.since >= since)
    if sender is not None:
        query = query.where(consent.c.scope_key.in_([sender, ACCOUNT]))
    query = query.order_by(consent.c.since, consent.c.contact, consent.c.scope_key)
    with database.stream() as conn:
        # The query runs before the header is yielded, so a database that is down fails
        # the first step (a clean 503) instead of cutting a CSV off after its header.
        result = conn.execute(query)
        yield EXPORT_HEADER
        for row in result:
            account = row.scope_key == ACCOUNT
            yield (
                row.contact,
                Scope.ACCOUNT.value if account else Scope.SENDER.value,
                "" if account else row.scope_key,
                row.source or "",
                neutralise(row.actor),
                row.since.isoformat(),
                neutralise(row.message_text),
                neutralise(row.keyword),
                neutralise(row.rule),
                neutralise(row.reason),
            )
