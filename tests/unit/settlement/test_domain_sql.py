"""The SQL functions rendered from lending.domain: the frozen copy migration 0022 installs is
today's rendering and the installed functions answer what the domain answers (the live
positions.sql against its frozen copy: tests/unit/foundation/test_frozen_migration_sql.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from lending.domain.daycount import DayCount, year_days
from lending.domain.loan_day import CLOSED_STATES, LoanStatus
from lending.settlement.domain_sql import domain_functions_sql

ROOT = Path(__file__).resolve().parents[3] / "lending"
FROZEN = ROOT / "migrations" / "sql"


def test_the_frozen_copy_is_the_rendering_of_the_domain():
    # A change to the domain's rules must come with a new migration (and a new frozen copy).
    assert (FROZEN / "0022_domain_functions.sql").read_text() == domain_functions_sql()


@pytest.mark.django_db
@pytest.mark.parametrize("basis", list(DayCount))
def test_installed_year_days_is_the_domain(basis):
    with connection.cursor() as cur:
        cur.execute("SELECT lending_year_days(%s)", [str(basis)])
        assert cur.fetchone()[0] == year_days(basis)


@pytest.mark.django_db
@pytest.mark.parametrize("state", list(LoanStatus))
def test_installed_closed_states_are_the_domain(state):
    with connection.cursor() as cur:
        cur.execute("SELECT lending_loan_closed(%s)", [str(state)])
        assert cur.fetchone()[0] == (state in CLOSED_STATES)
