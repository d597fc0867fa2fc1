"""GET /v1/optouts as a streamed CSV file (the service builds the bytes, cells neutralised)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

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


def csv_response(chunks: Iterable[bytes], sender: str | None) -> Response:
    """Stream the CSV; its first chunk is read first, so a failing query fails before streaming."""
    stream = iter(chunks)
    first = next(stream, None)
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    # Only digits of the sender reach the header: nothing a caller types can break it.
    digits = re.sub(r"\D", "", sender or "")
    name = f"stopline-optouts-{digits}-{stamp}.csv" if digits else f"stopline-optouts-{stamp}.csv"
    body = _rest(first, stream) if first is not None else iter(())
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _rest(first: bytes, stream: Iterator[bytes]) -> Iterator[bytes]:
    # A generator, so the server's close() (at the end, or when the client goes away) ends
    # the export's transaction at once instead of whenever the garbage collector runs.
    yield first
    yield from stream
