"""The bank's business calendar: weekends and public holidays are not business days, the
make-up working days of a holiday shift (调休) are (FILE_FORMATS.md v1.1 "Business dates").

The one place that decides what a business day is; everything else asks here. Exceptions to
the weekly rule are rows of `CalendarDay`, read once per call (a handful of rows a year).
"""

from __future__ import annotations

from datetime import date, timedelta

from partners.models import CalendarDay, CalendarDayKind

_WEEKEND = (5, 6)  # Saturday, Sunday


def _exceptions(start: date, end: date) -> dict[date, str]:
    return dict(CalendarDay.objects.filter(day__gte=start, day__lte=end)
                .values_list("day", "kind"))


def _is_business(day: date, exceptions: dict[date, str]) -> bool:
    kind = exceptions.get(day)
    if kind == CalendarDayKind.HOLIDAY:
        return False
    if kind == CalendarDayKind.WORKDAY:
        return True
    return day.weekday() not in _WEEKEND


def is_business_day(day: date) -> bool:
    return _is_business(day, _exceptions(day, day))


def business_days(start: date, end: date) -> list[date]:
    """The business days from `start` to `end`, both included, oldest first."""
    if end < start:
        return []
    exceptions = _exceptions(start, end)
    out, day = [], start
    while day <= end:
        if _is_business(day, exceptions):
            out.append(day)
        day += timedelta(days=1)
    return out


def next_business_day(day: date) -> date:
    """The first business day after `day`."""
    window = 40  # the longest holiday run is 9 days; a window read in one query
    while True:
        found = business_days(day + timedelta(days=1), day + timedelta(days=window))
        if found:
            return found[0]
        day += timedelta(days=window)


def previous_business_day(day: date) -> date:
    """The last business day before `day`."""
    window = 40
    while True:
        found = business_days(day - timedelta(days=window), day - timedelta(days=1))
        if found:
            return found[-1]
        day -= timedelta(days=window)
