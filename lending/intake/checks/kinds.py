"""The checks of each kind of partner file (loans, repayments, reversals, balances), and the
helper tables of keys repeated within the file or received in an earlier one."""

from __future__ import annotations

import re
from dataclasses import dataclass

from psycopg import sql

from config.sql_literals import lit
from lending.domain import rules
from lending.domain.loan_day import LoanStatus
from lending.intake.checks.dsl import (
    Checks,
    Id,
    L,
    after_settled,
    amount_ok,
    err,
    msg,
    rate_ok,
    raw_column,
)
from lending.models import RepaymentMethod, VersionStatus
from partners.files.contract import KINDS
from partners.models import PartnerKind

DATE_COLUMNS = {
    "loans": ("disbursed_on", "first_due_on"),
    "repayments": ("paid_on",),
    "reversals": ("reversed_on",),
    "balances": ("as_of",),
}

LOAN_METHODS = ("EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL", "INTEREST_FIRST", "DAILY")
LOAN_STATES = tuple(str(s) for s in LoanStatus)  # lending.domain.loan_day

STAGE_TABLE = {
    "loans": "lending_stagedloan",
    "repayments": "lending_stagedrepayment",
    "reversals": "lending_stagedreversal",
    "balances": "lending_stagedbalance",
}
# Loans keep one materialised check pass (staging.check_sql); the other kinds a fast path.
MATERIALISED = frozenset({"loans"})
# The business key whose repeat makes a row a DUPLICATE.
KEY_COLUMN = {"loans": "loan_no", "repayments": "txn_no", "reversals": "txn_no",
              "balances": "loan_no"}
# Keys received in an earlier file (index probes into the staging table, see seen_sql);
# one accepted balances file per partner and date: its repeats can only be within the file.
SEEN = {"loans": ("lending_stagedloan", "loan_no"),
        "repayments": ("lending_stagedrepayment", "txn_no"),
        "reversals": ("lending_stagedreversal", "txn_no")}
# The other kind of transaction with the same txn_no (a repayment's txn_no may not be a
# reversal's, and the reverse).
XSEEN = {"repayments": ("lending_stagedreversal", "txn_no"),
         "reversals": ("lending_stagedrepayment", "txn_no")}


@dataclass(frozen=True)
class Found:
    """Which helper tables hold rows: an empty one is neither joined nor checked (its check
    could not fail)."""

    dup: bool = True  # intake_dup: keys repeated within the file
    dup2: bool = True  # intake_dup2: reversals, reverses_txn_no repeated within the file
    seen: bool = True  # intake_seen: keys of earlier files (SEEN)
    xseen: bool = True  # intake_xseen: txn_no of the other kind (XSEEN)


def dates_sql(kind: str) -> sql.Composable:
    """The distinct date texts of the file, each parsed once."""
    union = sql.SQL(" UNION ").join(
        sql.SQL("SELECT {c} AS s FROM intake_raw WHERE {c} IS NOT NULL").format(c=Id(c))
        for c in DATE_COLUMNS[kind]
    )
    return sql.SQL(
        "CREATE TEMP TABLE intake_dates ON COMMIT DROP AS "
        "SELECT s, lending_intake_date(s) AS d FROM (SELECT DISTINCT s FROM ({}) u) x"
    ).format(union)


def totals_sql(kind: str) -> sql.Composable:
    """One scan: the control total (main amounts that parse; a fast-path row's always does)
    and the key range of the file (see seen_possible_sql)."""
    main = KINDS[kind].main_amount
    key = Id(KEY_COLUMN[kind])
    return sql.SQL(
        "SELECT coalesce(sum({m}::numeric) FILTER (WHERE r.ok OR {ok}), "
        "0), min({k}), max({k}) FROM intake_raw r"
    ).format(m=Id(main), ok=amount_ok(main), k=key)


def dups_sql(kind: str, column: str | None = None, table: str = "intake_dup") -> sql.Composable:
    """Keys repeated within the file, with their first row (a hash aggregate, one pass)."""
    return sql.SQL(
        "CREATE TEMP TABLE {t} ON COMMIT DROP AS SELECT {k} AS k, min(row_no) AS first_row "
        "FROM intake_raw WHERE {k} IS NOT NULL GROUP BY {k} "
        "HAVING count(*) > 1"
    ).format(t=Id(table), k=Id(column or KEY_COLUMN[kind]))


def seen_possible_sql(table: str, key: str) -> sql.Composable:
    """Whether any key of the partner in `table` lies within the file's key range [lo, hi]:
    one index probe. When none does, no key of the file can have been received before and
    the per-row probes are skipped (partners' transaction numbers usually grow with time)."""
    return sql.SQL(
        "SELECT EXISTS (SELECT 1 FROM {t} WHERE partner_id = %(partner)s "
        "AND {k} BETWEEN %(lo)s AND %(hi)s)"
    ).format(t=Id(table), k=Id(key))


def seen_sql(table: str, key: str, into: str = "intake_seen") -> sql.Composable:
    """Rows whose key is already staged for the partner in `table`: one index probe per row
    (a LATERAL subquery, so the file is always the outer side), which costs the same however
    long the partner's history is."""
    return sql.SQL(
        "CREATE TEMP TABLE {into} ON COMMIT DROP AS "
        "SELECT r.row_no, s.file_id, s.row_no AS seen_row FROM intake_raw r "
        "CROSS JOIN LATERAL (SELECT s.file_id, s.row_no FROM {t} s "
        "WHERE s.partner_id = %(partner)s AND s.{k} = r.{k} LIMIT 1) s "
        "WHERE r.{k} IS NOT NULL"
    ).format(into=Id(into), t=Id(table), k=Id(key))


def _duplicates(c: Checks, key: str, found: Found, *, across: bool = True) -> None:
    """Later repeats of a key within the file; keys already received in another file."""
    if found.dup:
        c.add("dd.first_row < r.row_no",
              err("DUPLICATE", key, sql.SQL("{} || r.{} || ' repeats row ' || dd.first_row "
                                            "|| ' of this file'").format(L(f"{key} "), Id(key))))
    if across and found.seen:
        c.add("s.row_no IS NOT NULL",
              err("DUPLICATE", key,
                  sql.SQL("{} || r.{} || ' was already received (file ' || s.file_id || "
                          "' row ' || s.seen_row || ')'").format(L(f"{key} "), Id(key))))


def _dup_joins(kind: str, found: Found, *, across: bool = True) -> str:
    key = KEY_COLUMN[kind]
    joins = f"LEFT JOIN intake_dup dd ON dd.k = r.{key}\n" if found.dup else ""
    if across and found.seen:
        joins += "LEFT JOIN intake_seen s ON s.row_no = r.row_no\n"
    return joins


def _xseen(c: Checks, found: Found, other: str) -> str:
    if not found.xseen:
        return ""
    c.add("xs.row_no IS NOT NULL",
          err("DUPLICATE", "txn_no",
              sql.SQL("{} || xs.file_id || ' row ' || xs.seen_row || ')'").format(
                  sql.SQL("'txn_no ' || r.txn_no || {}").format(
                      L(f" is already a {other} (file ")))))
    return "LEFT JOIN intake_xseen xs ON xs.row_no = r.row_no\n"


@dataclass(frozen=True)
class KindSQL:
    checks: Checks
    joins: sql.Composable  # besides the date joins
    select: sql.Composable  # the typed staging columns (STAGE_COLUMNS order) of a good row


def kind_sql(kind: str, found: Found = Found()) -> KindSQL:
    return {"loans": _loans, "repayments": _repayments, "reversals": _reversals,
            "balances": _balances}[kind](found)


def line_regex(kind: str, header: list[str], eol: str = "\n") -> re.Pattern | None:
    """The fast-path regex of a file (None: every row takes the full checks)."""
    if kind in MATERIALISED:
        return None
    return kind_sql(kind).checks.line_regex(header, eol)


def _repayments(found: Found) -> KindSQL:
    c = Checks()
    c.identifier("txn_no")
    c.identifier("loan_no")
    c.date("paid_on")
    after_settled(c, "paid_on")
    c.amount("amount", positive=True)
    c.choice("payer", ("BORROWER", "GUARANTOR"))
    c.choice("kind", ("SCHEDULED", "PREPAYMENT", "PAYOFF"))
    for col in ("reported_principal", "reported_interest", "reported_penalty", "reported_fee"):
        c.amount(col, required=False)
    # The loan (UNKNOWN_LOAN, LOAN_CLOSED, paid_on before its disbursement) is checked by the
    # run (lending.settlement.references): it may be in a file not received yet.
    _duplicates(c, "txn_no", found)
    joins = _dup_joins("repayments", found) + _xseen(c, found, "reversal")
    select = sql.SQL(
        "r.txn_no, r.loan_no, d_paid_on.d, r.amount::numeric, r.payer, r.kind, "
        "r.reported_principal::numeric, r.reported_interest::numeric, "
        "r.reported_penalty::numeric, r.reported_fee::numeric")
    return KindSQL(c, sql.SQL(joins), select)


def _reversals(found: Found) -> KindSQL:
    c = Checks()
    c.identifier("txn_no")
    c.identifier("reverses_txn_no")
    c.date("reversed_on")
    after_settled(c, "reversed_on")
    c.amount("amount", positive=True)
    c.text("reason")
    _duplicates(c, "txn_no", found)
    xjoin = _xseen(c, found, "repayment")
    # The reversed repayment (NOT_REVERSIBLE: none, another amount, reversed before it was
    # paid; BAD_DATE: before its loan's disbursement) is checked by the run
    # (lending.settlement.references): it may be in a file not received yet. A repayment
    # reversed twice stays here: within the file, and across files (one reversal per
    # repayment is a unique constraint of the staging table).
    if found.dup2:
        c.add("dr.first_row < r.row_no",
              err("NOT_REVERSIBLE", "reverses_txn_no",
                  sql.SQL("'repayment ' || r.reverses_txn_no || ' is already reversed by row ' "
                          "|| dr.first_row || ' of this file'")))
    c.add("o.id IS NOT NULL",
          err("NOT_REVERSIBLE", "reverses_txn_no",
              sql.SQL("'repayment ' || r.reverses_txn_no || ' is already reversed (file ' || "
                      "o.file_id || ' row ' || o.row_no || ')'")))
    joins = _dup_joins("reversals", found) + xjoin + (
        "LEFT JOIN intake_dup2 dr ON dr.k = r.reverses_txn_no\n" if found.dup2 else "") + """
LEFT JOIN lending_stagedreversal o ON o.partner_id = %(partner)s
     AND o.reverses_txn_no = r.reverses_txn_no
"""
    select = sql.SQL("r.txn_no, r.reverses_txn_no, d_reversed_on.d, r.amount::numeric, "
                     "coalesce(r.reason, '')")
    return KindSQL(c, sql.SQL(joins), select)


def _balances(found: Found) -> KindSQL:
    c = Checks()
    c.identifier("loan_no")
    c.date("as_of")
    c.add("d_as_of.d <> %(bdate)s",
          err("BAD_DATE", "as_of", msg("as_of must be the business date: ", "as_of")))
    for col in ("principal_outstanding", "interest_outstanding", "penalty_outstanding"):
        c.amount(col)
    c.required("dpd")
    c.pattern("dpd", "[0-9]{1,6}", required=True)
    c.add("r.dpd !~ '^[0-9]+$' OR length(r.dpd) > 6",
          err("BAD_VALUE", "dpd", msg("dpd must be a whole number of days: ", "dpd")), fmt=True)
    c.choice("status", LOAN_STATES)
    # A row of a loan the bank does not have is not quarantined: the run's reconciliation
    # records it as a MISSING_AT_BANK break (the loan may be in a loans file not received
    # yet, or be one the run does not book; either way the reconciliation sees it after the
    # day's booking, lending.reconciliation.services).
    _duplicates(c, "loan_no", found, across=False)
    joins = _dup_joins("balances", found, across=False)
    select = sql.SQL(
        "r.loan_no, d_as_of.d, r.principal_outstanding::numeric, "
        "r.interest_outstanding::numeric, r.penalty_outstanding::numeric, r.dpd::integer, "
        "r.status")
    return KindSQL(c, sql.SQL(joins), select)


def numeric(col: str, rate: bool = False) -> sql.Composable:
    ok = rate_ok(col) if rate else amount_ok(col)
    return sql.SQL("CASE WHEN {ok} THEN {c}::numeric END").format(c=raw_column(col), ok=ok)


def _loans(found: Found) -> KindSQL:
    c = Checks()
    c.identifier("loan_no")
    c.required("program_code")
    c.required("borrower_ref")
    c.amount("principal", positive=True)
    c.rate("annual_rate")
    c.required("term_months")
    c.add("r.term_months !~ '^[0-9]+$' OR length(r.term_months) > 4 "
          "OR r.term_months::integer > 36",
          err("BAD_VALUE", "term_months",
              msg("term_months must be a whole number from 0 to 36: ", "term_months")))
    c.choice("repayment_method", LOAN_METHODS)
    c.add(f"(r.repayment_method = {lit(RepaymentMethod.DAILY)}) <> (r.term_months::integer = 0)",
          err("BAD_VALUE", "term_months",
              msg("term_months is 0 exactly for DAILY loans: ", "term_months")))
    c.date("disbursed_on")
    c.add("d_disbursed_on.d <> %(bdate)s",
          err("BAD_DATE", "disbursed_on",
              msg("disbursed_on must be the business date: ", "disbursed_on")))
    c.date("first_due_on", required=False, future=False)
    c.add("d_first_due_on.d <= d_disbursed_on.d",
          err("BAD_DATE", "first_due_on",
              msg("first_due_on must be after disbursed_on: ", "first_due_on")))
    c.required("bank_approval_ref")
    c.add("length(r.bank_approval_ref) > 64",
          err("BAD_VALUE", "bank_approval_ref", msg("bank_approval_ref is longer than 64")))
    c.rate("bank_ratio", required=False)
    c.add("p.id IS NULL",
          err("UNKNOWN_PROGRAM", "program_code",
              msg("no program of this partner with code ", "program_code")))
    c.add("NOT p.active",
          err("UNKNOWN_PROGRAM", "program_code", msg("program is not active: ", "program_code")))
    c.add("l.id IS NOT NULL",
          err("DUPLICATE", "loan_no", msg("loan already booked: ", "loan_no")))
    _duplicates(c, "loan_no", found)
    c.add("v.version_id IS NULL",
          err("UNKNOWN_PROGRAM", "program_code",
              sql.SQL("'no agreement version of program ' || r.program_code || "
                      "' in force on ' || d_disbursed_on.d")))
    c.add("r.principal::numeric > p.max_principal",
          err("LIMIT_EXCEEDED", "principal",
              sql.SQL("'principal ' || r.principal || ' above the program maximum ' "
                      "|| p.max_principal")))
    c.add("r.term_months::integer > p.max_term_months",
          err("LIMIT_EXCEEDED", "term_months",
              sql.SQL("'term_months ' || r.term_months || ' above the program maximum ' "
                      "|| p.max_term_months")))
    c.add("r.repayment_method <> ALL(p.repayment_methods)",
          err("LIMIT_EXCEEDED", "repayment_method",
              sql.SQL("'repayment_method ' || r.repayment_method || ' not allowed by program "
                      "' || r.program_code")))
    c.add("r.annual_rate::numeric NOT BETWEEN p.min_annual_rate AND p.max_annual_rate",
          err("LIMIT_EXCEEDED", "annual_rate",
              sql.SQL("'annual_rate ' || r.annual_rate || ' outside the program bounds ' || "
                      "p.min_annual_rate || '..' || p.max_annual_rate")))
    c.add(sql.SQL("d_disbursed_on.d >= {} AND v.bank_ratio > {}").format(
              L(rules.RATIO_RULE_FROM), L(rules.MAX_BANK_RATIO)),
          err(rules.RATIO_RULE_REASON, rules.RATIO_RULE_COLUMN, msg(rules.ratio_rule_message())))
    c.add("r.bank_ratio IS NOT NULL AND r.bank_ratio::numeric <> v.bank_ratio",
          err("RATIO_MISMATCH", "bank_ratio",
              sql.SQL("'bank_ratio ' || r.bank_ratio || ' differs from the agreement''s ' || "
                      "v.bank_ratio")))
    select = sql.SQL(
        "r.loan_no, p.id AS program_id, v.version_id AS agreement_version_id, "
        "r.borrower_ref AS borrower_token, {pr} AS principal, {ar} AS annual_rate, "
        "CASE WHEN r.term_months ~ '^[0-9]+$' AND length(r.term_months) <= 4 "
        "THEN r.term_months::integer END "
        "AS term_months, r.repayment_method, d_disbursed_on.d AS disbursed_on, "
        "d_first_due_on.d AS first_due_on, r.bank_approval_ref, v.bank_ratio, "
        "{br} AS reported_bank_ratio"
    ).format(pr=numeric("principal"), ar=numeric("annual_rate", rate=True),
             br=numeric("bank_ratio", rate=True))
    joins = sql.SQL(_dup_joins("loans", found) + f"""
LEFT JOIN lending_program p ON p.partner_id = %(partner)s AND p.code = r.program_code
LEFT JOIN lending_loan l ON l.partner_id = %(partner)s AND l.loan_no = r.loan_no
LEFT JOIN LATERAL (
    SELECT av.id AS version_id,
           coalesce((SELECT f.principal_ratio FROM lending_agreementfunder f
                      JOIN partners_partner bp ON bp.id = f.funder_id AND bp.kind = {lit(PartnerKind.BANK)}
                     WHERE f.version_id = av.id), 0) AS bank_ratio
      FROM lending_agreementversion av
     WHERE av.agreement_id = p.agreement_id AND av.status IN ({lit(VersionStatus.ACTIVE)}, {lit(VersionStatus.RETIRED)})
       AND av.effective_from <= d_disbursed_on.d
       AND (av.effective_to IS NULL OR d_disbursed_on.d < av.effective_to)
     ORDER BY av.effective_from DESC, av.id DESC LIMIT 1
) v ON true
""")
    return KindSQL(c, joins, select)
