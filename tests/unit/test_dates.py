"""Dates people type for --since and in import files: understood, or refused with the reason."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.dates import parse_moment
from core.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-31", datetime(2026, 1, 31, tzinfo=UTC)),
        ("2026-01-31T09:30:00Z", datetime(2026, 1, 31, 9, 30, tzinfo=UTC)),
        ("2026-01-31T09:30:00+02:00", datetime(2026, 1, 31, 7, 30, tzinfo=UTC)),
        (" 2026-01-31 ", datetime(2026, 1, 31, tzinfo=UTC)),
    ],
)
def test_dates_and_times_become_utc(text: str, expected: datetime) -> None:
    assert parse_moment(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("31/01/2026", "not a date"),
        ("yesterday", "not a date"),
        ("9999-12-31T23:59:59-23:59", "out of range"),  # past the last UTC time
        ("0001-01-01T00:00:00+01:00", "out of range"),  # before the first
    ],
)
def test_other_text_is_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        parse_moment(text)
