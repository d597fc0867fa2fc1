"""Dates and times as users write them: YYYY-MM-DD (midnight UTC) or ISO 8601 (UTC if no offset)."""

from __future__ import annotations

from datetime import UTC, datetime

from core.errors import InvalidInput


def check_window(since: datetime | None, until: datetime | None) -> None:
    """Refuse a time window that nothing can be in: `until` (exclusive) not after `since`."""
    if since is not None and until is not None and until <= since:
        raise InvalidInput(
            f"until ({until.isoformat()}) must be later than since ({since.isoformat()}): "
            "the export lists opt-outs made at or after since and before until"
        )


def parse_moment(text: str) -> datetime:
    """A timezone-aware UTC datetime, or InvalidInput saying which forms are understood."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f'"{text[:40]}" is not a date or time: use YYYY-MM-DD or an ISO 8601 time, '
            "for example 2026-01-31 or 2026-01-31T09:30:00Z"
        ) from None
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-23:59 is past the last time UTC can hold
        raise InvalidInput(
            f'"{text[:40]}" is out of range: use a date between years 1 and 9999 in UTC'
        ) from None
