"""Day-count bases and interest for a number of days.

Convention (DOMAIN §3.3, [S24]): interest starts the day after disbursement and the last day
counts (``include_first=False, include_last=True``, 算尾不算头). Both are parameters.

ACT/365 is "ACT/365 Fixed" (denominator 365 also in leap years). 30/360 is the European
30E/360 rule (day 31 counts as day 30); schedules count a whole monthly period as 30 days.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from .money import DomainError, q2


class DayCount(StrEnum):
    ACT_360 = "ACT/360"
    ACT_365 = "ACT/365"
    THIRTY_360 = "30/360"


DEFAULT_DAY_COUNT = DayCount.ACT_360

_YEAR_DAYS = {DayCount.ACT_360: 360, DayCount.ACT_365: 365, DayCount.THIRTY_360: 360}


def year_days(basis: DayCount) -> int:
    """Denominator of the year fraction: 360 or 365."""
    return _YEAR_DAYS[basis]


def days_30e_360(start: date, end: date) -> int:
    """30E/360 day count between two dates (start excluded, end included)."""
    d1 = min(start.day, 30)
    d2 = min(end.day, 30)
    return 360 * (end.year - start.year) + 30 * (end.month - start.month) + (d2 - d1)


def interest_days(
    start: date,
    end: date,
    basis: DayCount = DEFAULT_DAY_COUNT,
    *,
    include_first: bool = False,
    include_last: bool = True,
) -> int:
    """Number of interest days from ``start`` to ``end`` under ``basis``; never negative."""
    if end < start:
        raise DomainError(f"end {end} is before start {start}")
    if basis == DayCount.THIRTY_360:
        days = days_30e_360(start, end)
    else:
        days = (end - start).days
    # (end - start) already excludes the first day and includes the last one.
    days += int(include_first) - (1 - int(include_last))
    return max(days, 0)


def interest_for_days(
    balance: Decimal, annual_rate: Decimal, days: int, basis: DayCount = DEFAULT_DAY_COUNT
) -> Decimal:
    """balance × annual_rate × days / (360 or 365), rounded half up to the cent."""
    return q2(balance * annual_rate * days / _YEAR_DAYS[basis])


def interest_between(
    balance: Decimal,
    annual_rate: Decimal,
    start: date,
    end: date,
    basis: DayCount = DEFAULT_DAY_COUNT,
    *,
    include_first: bool = False,
    include_last: bool = True,
) -> Decimal:
    """Interest on a constant balance from ``start`` to ``end``, rounded once per period."""
    days = interest_days(start, end, basis, include_first=include_first, include_last=include_last)
    return interest_for_days(balance, annual_rate, days, basis)
