"""The run's first step: the checks of a staged row against other files (FILE_FORMATS.md v1.1,
"What the bank does with a file" 3), made once every file they may need is in.

Intake checks a row on its own and against the days already settled (lending.intake.checks).
What a row refers to in another file — its loan, booked or in a loans file of the same day;
the repayment a reversal reverses, perhaps in a late file of the day before; the loan's
disbursement date — is checked here, at the start of the run of (partner, date): the run starts
only when the day's four files are accepted and every earlier business day is DONE, so the
answer no longer depends on the order in which the files arrived. A row that fails is
quarantined (stage APPLY) with the reason code, column and message intake used to give, its
raw text rebuilt from the staged columns in the contract's column order (the optional columns
only when the row holds a value in one of them: the same text as intake's for a file in that
order) and its main amount;
its staged status becomes QUARANTINED, so per file rows = applied + quarantined still holds
(lending.reconciliation.checks).

Per row the first failing check, in the contract's order: the date on or before the last
settled business date (BAD_DATE: intake checked it against the days settled when the file
came; more may have been settled since), then for a repayment UNKNOWN_LOAN, LOAN_CLOSED and
BAD_DATE (paid before the disbursement), for a reversal NOT_REVERSIBLE (no such repayment, or
quarantined; another amount; reversed before it was paid) and BAD_DATE (before the loan's
disbursement). Repayments first, so that a reversal of a repayment quarantined here is
NOT_REVERSIBLE.

Balances rows are not checked here: a row of a loan the bank does not have is a MISSING_AT_BANK
break of the run's reconciliation (which compares after the day's booking), as it is for a
loan whose loans row the booking quarantines.

Set-based: one statement per kind (a data-modifying CTE: the quarantine rows and the status of
the staged rows together), idempotent (only STAGED rows are read, and a rerun finds none that
fail).
"""

from __future__ import annotations

import logging
import time
from datetime import date

from django.db import connection, transaction
from psycopg import sql

from config.sql_literals import lit
from lending import selectors as lending_selectors
from lending.domain.loan_day import NO_PAYMENT_STATES
from lending.intake.checks.dsl import Checks, after_settled_rule, err, msg, raw_csv
from lending.intake.models import StagedRowStatus
from partners.files.contract import KINDS
from partners.models import QuarantineStage

log = logging.getLogger(__name__)

L = sql.Literal

# A written-off loan still takes money: a recovery after 核销 (DOMAIN §7.10), applied by the run;
# only these states refuse a repayment (not the domain's CLOSED_STATES, which include it).
NO_PAYMENT = [str(s) for s in NO_PAYMENT_STATES]

# A loan is known when booked, or staged (accepted, not quarantined) for the partner on the
# same or an earlier business date and still waiting for its run: the run books it. The staged
# loan is probed (a partial index on the STAGED rows) only for a row whose loan is not booked.
_LOAN_JOINS = f"""
LEFT JOIN lending_loan l ON l.partner_id = %(partner)s AND l.loan_no = {{loan_no}}
LEFT JOIN LATERAL (
    SELECT s.id, s.disbursed_on FROM lending_stagedloan s
     WHERE l.id IS NULL AND s.partner_id = %(partner)s AND s.loan_no = {{loan_no}}
       AND s.business_date <= %(bdate)s AND s.status = {lit(StagedRowStatus.STAGED)}
     LIMIT 1) sl ON true
"""
_DISBURSED = sql.SQL("coalesce(l.disbursed_on, sl.disbursed_on)")


def _text(col: str) -> sql.Composable:
    """A staged column as the text a file would carry (dates as YYYY-MM-DD)."""
    return sql.SQL("r.{}::text").format(sql.Identifier(col))


def _day(col: str) -> sql.Composable:
    return sql.SQL("to_char(r.{}, 'YYYY-MM-DD')").format(sql.Identifier(col))


def _not_before_disbursement(c: Checks, col: str) -> None:
    """FILE_FORMATS 1.1: no payment or reversal before the loan was disbursed."""
    c.add(sql.SQL("r.{} < {}").format(sql.Identifier(col), _DISBURSED),
          err("BAD_DATE", col,
              sql.SQL("{} || {} || ' is before the loan''s disbursement on ' || {}").format(
                  L(f"{col} "), _day(col), _DISBURSED)))


def _repayments() -> tuple[Checks, str]:
    c = Checks()
    c.add(*after_settled_rule("paid_on", sql.SQL("r.paid_on"), _day("paid_on")))
    c.add("l.id IS NULL AND sl.id IS NULL",
          err("UNKNOWN_LOAN", "loan_no", msg("no loan of this partner numbered ", "loan_no")))
    c.add(sql.SQL("l.state = ANY({})").format(L(NO_PAYMENT)),
          err("LOAN_CLOSED", "loan_no", sql.SQL("'loan ' || r.loan_no || ' is ' || l.state")))
    _not_before_disbursement(c, "paid_on")
    return c, _LOAN_JOINS.format(loan_no="r.loan_no")


def _reversals() -> tuple[Checks, str]:
    c = Checks()
    c.add(*after_settled_rule("reversed_on", sql.SQL("r.reversed_on"), _day("reversed_on")))
    c.add("rp.id IS NULL",
          err("NOT_REVERSIBLE", "reverses_txn_no",
              msg("no accepted repayment of this partner numbered ", "reverses_txn_no")))
    c.add("rp.amount <> r.amount",
          err("NOT_REVERSIBLE", "amount",
              sql.SQL("'amount ' || r.amount || ' differs from the repayment''s ' || rp.amount")))
    c.add("r.reversed_on < rp.paid_on",
          err("NOT_REVERSIBLE", "reversed_on",
              sql.SQL("'reversed_on ' || to_char(r.reversed_on, 'YYYY-MM-DD') || ' is before "
                      "the repayment''s paid_on ' || to_char(rp.paid_on, 'YYYY-MM-DD')")))
    _not_before_disbursement(c, "reversed_on")
    # the repayment: staged for the partner on the same or an earlier date, not quarantined
    # (this day's by the statement before, or by an earlier run)
    return c, f"""
LEFT JOIN lending_stagedrepayment rp ON rp.partner_id = %(partner)s
     AND rp.txn_no = r.reverses_txn_no AND rp.business_date <= %(bdate)s
     AND rp.status <> {lit(StagedRowStatus.QUARANTINED)}
""" + _LOAN_JOINS.format(loan_no="rp.loan_no")


_KINDS = {"repayments": ("lending_stagedrepayment", _repayments),
          "reversals": ("lending_stagedreversal", _reversals)}
_DATES = {"paid_on", "reversed_on"}


def _statement(kind: str) -> sql.Composable:
    table, build = _KINDS[kind]
    checks, joins = build()
    spec = KINDS[kind]

    def text(c: str) -> sql.Composable:
        return _day(c) if c in _DATES else _text(c)

    # the required columns, then the optional ones when the row holds a value in one of them
    # (as the file would have had them; a file without them gives the same raw text)
    raw = raw_csv(text(c) for c in spec.required)
    if spec.optional:
        raw = sql.SQL("{} || CASE WHEN {} THEN '' ELSE ',' || {} END").format(
            raw, sql.SQL(" AND ").join(sql.SQL("r.{} IS NULL").format(sql.Identifier(c))
                                       for c in spec.optional),
            raw_csv(text(c) for c in spec.optional))
    us = L("\x1f")
    return sql.SQL(f"""
WITH bad AS (  -- the failing rows only (the raw text is built for them alone)
    SELECT * FROM (
        SELECT r.*, {{case}} AS err
          FROM {{table}} r
          {{joins}}
         WHERE r.partner_id = %(partner)s AND r.business_date = %(bdate)s
           AND r.status = {lit(StagedRowStatus.STAGED)}) c
     WHERE err IS NOT NULL
), q AS (
    INSERT INTO partners_quarantinedrow (file_id, partner_id, business_date, row_no, "column",
           reason, message, raw, amount, stage, created_at, resolved, resolution_note)
    SELECT r.file_id, %(partner)s, %(bdate)s, r.row_no, split_part(r.err, {{us}}, 2),
           split_part(r.err, {{us}}, 1),
           substr(r.err, length(split_part(r.err, {{us}}, 1))
                  + length(split_part(r.err, {{us}}, 2)) + 3),
           {{raw}}, r.{{main}}, {lit(QuarantineStage.APPLY)}, now(), false, ''
      FROM bad r ORDER BY r.file_id, r.row_no
)
UPDATE {{table}} s SET status = {lit(StagedRowStatus.QUARANTINED)}, applied_at = now()
  FROM bad WHERE s.id = bad.id
""").format(main=sql.Identifier(KINDS[kind].main_amount), raw=raw,
            case=checks.first_failing(), table=sql.Identifier(table), joins=sql.SQL(joins),
            us=us)


@transaction.atomic
def references_check(*, partner_id: int, business_date: date) -> dict[str, int]:
    """Quarantine (stage APPLY) the partner's staged repayments and reversals of the date whose
    references fail now that the day's files are in; returns the rows quarantined per kind."""
    params = {"partner": partner_id, "bdate": business_date,
              "settled": lending_selectors.last_settled_date(partner_id)}
    out = {}
    with connection.cursor() as cur:
        for kind in ("repayments", "reversals"):  # in this order: see the module docstring
            started = time.perf_counter()
            cur.execute(_statement(kind), params)
            out[kind] = cur.rowcount
            log.info("references step=%s rows=%s ms=%.1f", kind, cur.rowcount,
                     (time.perf_counter() - started) * 1e3)
    return out
