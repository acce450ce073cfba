"""The check pass, the staging of the good rows and the quarantine of the failing ones."""

from __future__ import annotations

from psycopg import sql

from config.sql_literals import lit
from lending.intake.checks.dsl import (
    US,
    Id,
    L,
    date_joins,
    raw_column,
    raw_csv,
)
from lending.intake.checks.kinds import (
    DATE_COLUMNS,
    MATERIALISED,
    STAGE_TABLE,
    Found,
    kind_sql,
    numeric,
)
from lending.intake.models import StagedRowStatus
from partners.files.contract import KINDS
from partners.models import QuarantineStage

# --- Check and stage --------------------------------------------------------------------
#
# Loans keep one materialised pass (`intake_checked`: typed columns + error of every row), as
# their staged columns come from the program and agreement-version joins. The other kinds
# write only the failing rows (`intake_err`, with their raw columns for the quarantine) and
# stage the good rows straight from intake_raw: one pass over the joins, none over the
# million good rows' typed copy.

STAGE_COLUMNS = {
    "loans": ("loan_no", "program_id", "agreement_version_id", "borrower_token", "principal",
              "annual_rate", "term_months", "repayment_method", "disbursed_on", "first_due_on",
              "bank_approval_ref", "bank_ratio", "reported_bank_ratio"),
    "repayments": ("txn_no", "loan_no", "paid_on", "amount", "payer", "kind",
                   "reported_principal", "reported_interest", "reported_penalty",
                   "reported_fee"),
    "reversals": ("txn_no", "reverses_txn_no", "reversed_on", "amount", "reason"),
    "balances": ("loan_no", "as_of", "principal_outstanding", "interest_outstanding",
                 "penalty_outstanding", "dpd", "loan_status"),
}


def check_sql(kind: str, header: list[str], found: Found = Found()) -> sql.Composable:
    """The check pass: intake_checked (loans) or intake_err (the failing rows)."""
    k = kind_sql(kind, found)
    dates = date_joins(DATE_COLUMNS[kind])
    if kind in MATERIALISED:
        return sql.SQL(
            "CREATE TEMP TABLE intake_checked ON COMMIT DROP AS "
            "SELECT r.row_no, {select}, {case} AS err FROM intake_raw r {dates} {joins}"
        ).format(select=k.select, case=k.checks.case(), dates=dates, joins=k.joins)
    cols = sql.SQL(", ").join(raw_column(c) for c in header)
    return sql.SQL(
        "CREATE TEMP TABLE intake_err ON COMMIT DROP AS SELECT * FROM ("
        "SELECT r.row_no, {cols}, {case} AS err FROM intake_raw r {dates} {joins}"
        ") c WHERE err IS NOT NULL"
    ).format(cols=cols, case=k.checks.case(), dates=dates, joins=k.joins)


def stage_sql(kind: str, failing: bool = True) -> sql.Composable:
    """The good rows into the kind's staging table, in row order. `failing`: whether the check
    pass wrote any failing row; when it wrote none (a clean file, the usual case) there is no
    anti-join to make: with an empty intake_err the planner probes it once per row in a nested
    loop (1.1 s for a 1,083,387-row balances file)."""
    cols = sql.SQL(", ").join(map(Id, STAGE_COLUMNS[kind]))
    head = sql.SQL(
        "INSERT INTO {t} (file_id, row_no, partner_id, business_date, status, {cols}) "
    ).format(t=Id(STAGE_TABLE[kind]), cols=cols)
    if kind in MATERIALISED:
        return head + sql.SQL(
            f"SELECT %(file)s, row_no, %(partner)s, %(bdate)s, {lit(StagedRowStatus.STAGED)}, {{cols}} "
            "FROM intake_checked WHERE err IS NULL").format(cols=cols)
    return head + sql.SQL(
        f"SELECT %(file)s, r.row_no, %(partner)s, %(bdate)s, {lit(StagedRowStatus.STAGED)}, {{select}} "
        "FROM intake_raw r {dates} {where}"
    ).format(select=kind_sql(kind).select, dates=date_joins(DATE_COLUMNS[kind]),
             where=sql.SQL("WHERE NOT EXISTS (SELECT FROM intake_err e WHERE e.row_no = r.row_no)"
                           if failing else ""))


def quarantine_sql(kind: str, header: list[str]) -> sql.Composable:
    """Quarantine the failing rows with their raw text, rebuilt as CSV in the file's order."""
    main = KINDS[kind].main_amount
    raw = raw_csv(raw_column(c) for c in header)
    if kind in MATERIALISED:
        e, amount = "c", sql.SQL("c.{}").format(Id(main))
        source = sql.SQL("intake_checked c JOIN intake_raw r ON r.row_no = c.row_no "
                         "WHERE c.err IS NOT NULL")
    else:  # intake_err holds the raw columns of its rows
        e, amount, source = "r", numeric(main), sql.SQL("intake_err r")
    return sql.SQL(
        "INSERT INTO partners_quarantinedrow (file_id, partner_id, business_date, row_no, "
        "\"column\", reason, message, raw, amount, stage, created_at, resolved, "
        "resolution_note) "
        "SELECT %(file)s, %(partner)s, %(bdate)s, {e}.row_no, split_part({e}.err, {us}, 2), "
        "split_part({e}.err, {us}, 1), substr({e}.err, length(split_part({e}.err, {us}, 1)) + "
        "length(split_part({e}.err, {us}, 2)) + 3), {raw}, {amount}, "
        "{stage}, now(), false, '' "
        "FROM {source} ORDER BY {e}.row_no"
    ).format(e=sql.Identifier(e), us=L(US), raw=raw, amount=amount, source=source,
             stage=L(QuarantineStage.INTAKE.value))
