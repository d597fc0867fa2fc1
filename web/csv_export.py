"""GET /v1/optouts as a streamed CSV file (the service already neutralised free-text cells)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import chain

from flask import Response

from core.dates import parse_moment
from web.errors import BadInput


def parse_since(raw: str | None) -> datetime | None:
    """`?since=` as a date (midnight UTC) or an ISO-8601 time (UTC when no offset is given)."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if " " in text and "T" in text:
        # "+02:00" sent unencoded in a query string arrives as " 02:00".
        text = text.replace(" ", "+")
    try:
        return parse_moment(text)
    except OverflowError:  # 9999-12-31T23:59-23:59 is a valid time, but not one in UTC
        raise BadInput(f'"{text[:40]}" is out of range: use a date from 0001 to 9999.') from None


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
