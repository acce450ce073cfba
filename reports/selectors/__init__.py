"""Reads of the staff report pages: a fixed number of queries per page, aggregates in SQL.

One module per page family: `dashboard` (the morning dashboard and its trends), `statements`
(statements, a counterparty's day and the line drill-down), `journal` (journal entries back to
their movements), `loans` (the loan page), `breaks` (breaks triage); `common` holds the shared
labels. Callers import from `reports.selectors`, which re-exports them all.
"""

from reports.selectors.breaks import break_list
from reports.selectors.common import AGE_BUCKETS, COMPONENTS, DRILL_PAGE, ZERO, age_bucket_of
from reports.selectors.dashboard import (
    CLAIM_EVENTS,
    COLLECTION_EVENTS,
    TREND_DAYS,
    Dashboard,
    PartnerDay,
    dashboard_get,
    latest_runs,
    trends_get,
)
from reports.selectors.journal import (
    MOVEMENT_SOURCE,
    EntryView,
    journal_entry_detail,
    journal_line_movements,
)
from reports.selectors.loans import LoanView, loan_detail
from reports.selectors.statements import (
    CounterpartyDay,
    LineDrill,
    LineSpec,
    StatementView,
    counterparty_day,
    line_component,
    line_drilldown,
    line_specs,
    statement_detail,
    statement_list,
)

__all__ = [
    "AGE_BUCKETS", "CLAIM_EVENTS", "COLLECTION_EVENTS", "COMPONENTS", "DRILL_PAGE",
    "MOVEMENT_SOURCE", "TREND_DAYS", "ZERO",
    "CounterpartyDay", "Dashboard", "EntryView", "LineDrill", "LineSpec", "LoanView",
    "PartnerDay", "StatementView",
    "age_bucket_of", "break_list", "counterparty_day", "dashboard_get", "journal_entry_detail",
    "journal_line_movements", "latest_runs", "line_component", "line_drilldown", "line_specs",
    "loan_detail", "statement_detail", "statement_list", "trends_get",
]
