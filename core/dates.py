"""Dates and times as users write them: YYYY-MM-DD (midnight UTC) or ISO 8601 (UTC if no offset)."""

from __future__ import annotations

from datetime import UTC, datetime

from core.errors import InvalidInput


def parse_moment(text: str) -> datetime:
    """A timezone-aware UTC datetime, or InvalidInput saying which forms are understood."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f'"{text[:40]}" is not a date or time: use YYYY-MM-DD or an ISO 8601 time, '
            "for example 2026-01-31 or 2026-01-31T09:30:00Z"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
