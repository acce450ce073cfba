"""Mainland China's 2026 public holidays and make-up working days (调休), from the State
Council General Office's notice of 2025-11-04 (国务院办公厅关于2026年部分节假日安排的通知,
国办发明电〔2025〕7号). Only days off that fall on a weekday are holidays here (a weekend day
off is not a business day anyway) and only make-up days on a weekend are workdays; the data is
frozen in this migration, later years are entered by staff in the admin."""

from datetime import date, timedelta

from django.db import migrations

# (first day, last day, name) of each holiday period, and the make-up working days.
HOLIDAYS_2026 = [
    (date(2026, 1, 1), date(2026, 1, 3), "元旦 New Year's Day"),
    (date(2026, 2, 15), date(2026, 2, 23), "春节 Spring Festival"),
    (date(2026, 4, 4), date(2026, 4, 6), "清明节 Qingming Festival"),
    (date(2026, 5, 1), date(2026, 5, 5), "劳动节 Labour Day"),
    (date(2026, 6, 19), date(2026, 6, 21), "端午节 Dragon Boat Festival"),
    (date(2026, 9, 25), date(2026, 9, 27), "中秋节 Mid-Autumn Festival"),
    (date(2026, 10, 1), date(2026, 10, 7), "国庆节 National Day"),
]
WORKDAYS_2026 = [
    (date(2026, 1, 4), "元旦调休上班 New Year make-up working day"),
    (date(2026, 2, 14), "春节调休上班 Spring Festival make-up working day"),
    (date(2026, 2, 28), "春节调休上班 Spring Festival make-up working day"),
    (date(2026, 5, 9), "劳动节调休上班 Labour Day make-up working day"),
    (date(2026, 9, 20), "国庆节调休上班 National Day make-up working day"),
    (date(2026, 10, 10), "国庆节调休上班 National Day make-up working day"),
]


def rows():
    for first, last, name in HOLIDAYS_2026:
        day = first
        while day <= last:
            if day.weekday() < 5:
                yield day, "HOLIDAY", name
            day += timedelta(days=1)
    for day, name in WORKDAYS_2026:
        assert day.weekday() >= 5, day
        yield day, "WORKDAY", name


def load(apps, schema_editor):
    CalendarDay = apps.get_model("partners", "CalendarDay")
    for day, kind, name in rows():
        CalendarDay.objects.update_or_create(day=day, defaults={"kind": kind, "name": name})


def unload(apps, schema_editor):
    CalendarDay = apps.get_model("partners", "CalendarDay")
    CalendarDay.objects.filter(day__year=2026).delete()


class Migration(migrations.Migration):
    dependencies = [("partners", "0005_business_calendar")]
    operations = [migrations.RunPython(load, unload)]
