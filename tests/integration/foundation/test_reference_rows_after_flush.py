"""A transactional test's flush must not leave later tests without the rows data migrations
load (tests/conftest.py puts them back). Both are transactional, so pytest-django keeps them in file order (it runs transactional
tests after the others)."""

from __future__ import annotations

from datetime import date

import pytest

from partners import calendar
from partners.models import CalendarDay, Partner


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_runs_and_its_database_is_flushed_after_it():
    assert not calendar.is_business_day(date(2026, 10, 1))  # 国庆节, loaded by migration


@pytest.mark.django_db(transaction=True)
def test_the_next_test_still_has_the_calendar_and_the_bank():
    assert not calendar.is_business_day(date(2026, 10, 1))
    assert calendar.is_business_day(date(2026, 10, 10))  # a make-up Saturday
    assert CalendarDay.objects.filter(day__year=2026).count() >= 20
    assert Partner.objects.filter(kind="BANK").count() == 1
