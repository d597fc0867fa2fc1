"""The review deadline: 10 US business days after receipt (weekends, federal holidays)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from core.calendar import add_business_days, is_business_day, us_federal_holidays


@pytest.mark.parametrize(
    ("received", "deadline"),
    [
        (
            datetime(2026, 11, 26, 9, tzinfo=UTC),
            datetime(2026, 12, 10, 9, tzinfo=UTC),
        ),  # Thanksgiving
        (datetime(2026, 11, 23, 9, tzinfo=UTC), datetime(2026, 12, 8, 9, tzinfo=UTC)),  # Monday
        (
            datetime(2026, 12, 18, 9, tzinfo=UTC),
            datetime(2027, 1, 5, 9, tzinfo=UTC),
        ),  # Christmas, New Year
        (datetime(2026, 11, 28, 9, tzinfo=UTC), datetime(2026, 12, 11, 9, tzinfo=UTC)),  # Saturday
    ],
)
def test_deadline_is_ten_business_days_later(received: datetime, deadline: datetime) -> None:
    assert add_business_days(received) == deadline


def test_observed_holidays() -> None:
    holidays_2026 = us_federal_holidays(2026)
    assert date(2026, 7, 3) in holidays_2026  # 4 July 2026 is a Saturday
    assert date(2026, 11, 26) in holidays_2026  # Thanksgiving
    assert date(2027, 12, 31) in us_federal_holidays(2027)  # New Year 2028 is a Saturday
    assert len(holidays_2026) == 11
    assert not is_business_day(date(2026, 11, 28)) and is_business_day(date(2026, 11, 27))
