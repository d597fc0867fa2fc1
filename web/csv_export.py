"""GET /v1/optouts as a streamed CSV file (the service already neutralised free-text cells)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from contextlib import suppress
from datetime import UTC, datetime
from itertools import chain

from flask import Response

from web.errors import BadInput


def parse_since(raw: str | None) -> datetime | None:
    """`?since=` as a date (midnight UTC) or an ISO-8601 time (UTC when no offset is given)."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None and " " in text:
        # "+02:00" sent unencoded in a query string arrives as " 02:00".
        with suppress(ValueError):
            moment = datetime.fromisoformat(text.replace(" ", "+"))
    if moment is None:
        raise BadInput(
            f"since={raw!r} is not a date or time. Use YYYY-MM-DD or an ISO-8601 time, "
            "for example 2026-01-31 or 2026-01-31T09:30:00Z."
        )
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _lines(rows: Iterable[tuple[str, ...]], batch: int = 500) -> Iterator[str]:
    # One buffer reused for every batch: memory stays flat however long the export is.
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
        if count == batch:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            count = 0
    if count:
        yield buffer.getvalue()


def csv_response(rows: Iterator[tuple[str, ...]], sender: str | None) -> Response:
    """Stream the rows; the header is read first, so a bad request fails before streaming."""
    first = next(rows, None)
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    # Only digits of the sender reach the header: nothing a caller types can break it.
    digits = re.sub(r"\D", "", sender or "")
    name = f"stopline-optouts-{digits}-{stamp}.csv" if digits else f"stopline-optouts-{stamp}.csv"
    body = _lines(chain([first], rows)) if first is not None else iter(())
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
