"""Business days for the FCC's deadline: a revocation is honoured within 10 business days."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

REVIEW_BUSINESS_DAYS = 10


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    offset = (weekday - first.weekday()) % 7
    return first + timedelta(days=offset + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    last = (date(year, month + 1, 1) if month < 12 else date(year + 1, 1, 1)) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: date) -> date:
    # A federal holiday on a Saturday is observed on Friday, on a Sunday on Monday.
    if day.weekday() == 5:
        return day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


@lru_cache(maxsize=64)
def us_federal_holidays(year: int) -> frozenset[date]:
    """The observed US federal holidays of a year (5 U.S.C. 6103)."""
    fixed = [date(year, 1, 1), date(year, 6, 19), date(year, 7, 4), date(year, 11, 11),
             date(year, 12, 25)]  # fmt: skip
    moving = [
        _nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        _last_weekday(year, 5, 0),  # Memorial Day
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 10, 0, 2),  # Columbus Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
    ]
    days = {_observed(d) for d in fixed} | set(moving)
    # New Year's Day on a Saturday is observed on 31 December of the year before.
    next_new_year = _observed(date(year + 1, 1, 1))
    if next_new_year.year == year:
        days.add(next_new_year)
    return frozenset(d for d in days if d.year == year)


def is_business_day(day: date) -> bool:
    """Monday to Friday, except observed US federal holidays."""
    return day.weekday() < 5 and day not in us_federal_holidays(day.year)


def add_business_days(start: datetime, days: int = REVIEW_BUSINESS_DAYS) -> datetime:
    """The same time of day, `days` business days after `start` (the day of receipt not counted)."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if is_business_day(current.date()):
            remaining -= 1
    return current
