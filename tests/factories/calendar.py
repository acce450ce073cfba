"""Calendars for tests that settle a few far-apart days (the golden days).

A partner settles every business day in order (FILE_FORMATS.md v1.1). A golden test that
settles 01-15, then 02-15, then 03-15 declares, through the bank's calendar (which is data,
edited by staff), that those are the business days of its world: `only_business_day(day)` makes
`day` a business day and every weekday between the partner's last run and `day` a holiday,
except a day on which any partner already has a run. Interest, penalty and DPD count calendar
days, so the figures do not depend on it."""

from __future__ import annotations

from datetime import date, timedelta

from lending.settlement.models import SettlementRun
from partners.models import CalendarDay, CalendarDayKind


def only_business_day(day: date, *, partner_code: str) -> None:
    last = (SettlementRun.objects.filter(partner__code=partner_code, business_date__lt=day)
            .order_by("-business_date").values_list("business_date", flat=True).first())
    CalendarDay.objects.update_or_create(
        day=day, defaults={"kind": CalendarDayKind.WORKDAY, "name": "test business day"})
    if day.weekday() < 5:  # a weekday needs no row to be a business day
        CalendarDay.objects.filter(day=day).delete()
    if last is None:
        return
    taken = set(SettlementRun.objects.filter(business_date__gt=last, business_date__lt=day)
                .values_list("business_date", flat=True))
    gap = last + timedelta(days=1)
    while gap < day:
        if gap not in taken:
            CalendarDay.objects.update_or_create(
                day=gap, defaults={"kind": CalendarDayKind.HOLIDAY, "name": "test: no business"})
        gap += timedelta(days=1)
