"""SQL functions rendered from lending.domain (one definition of each rule, issue 20).

`domain_functions_sql()` renders the domain's year-day basis and its closed loan states as
IMMUTABLE SQL functions (inlined by the planner). Migration 0022 installs a frozen copy
(lending/migrations/sql/0022_domain_functions.sql); tests/unit/settlement/test_domain_sql.py
requires the copy to equal this rendering, so a change to the domain needs a new migration.
"""

from __future__ import annotations

from psycopg import sql

from lending.domain.daycount import DayCount, year_days
from lending.domain.loan_day import CLOSED_STATES


def _lit(value) -> str:
    return sql.Literal(value).as_string(None)


def domain_functions_sql() -> str:
    whens = " ".join(f"WHEN {_lit(str(b))} THEN {year_days(b)}" for b in DayCount)
    closed = ", ".join(_lit(str(s)) for s in CLOSED_STATES)
    return f"""-- Rendered from lending.domain by lending.settlement.domain_sql; do not edit by hand.
-- daycount.year_days: the denominator of the year fraction of a day-count basis.
CREATE OR REPLACE FUNCTION lending_year_days(p_day_count varchar) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE p_day_count {whens} END
$$;
-- loan_day.CLOSED_STATES: a loan in these states accrues nothing.
CREATE OR REPLACE FUNCTION lending_loan_closed(p_state varchar) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p_state IN ({closed})
$$;
"""
