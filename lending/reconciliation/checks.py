"""Ledger-registry check: every row of every accepted partner file is accounted for.

FILE_FORMATS.md "What the bank does with a file" §5: after the run, for every file, rows =
applied + quarantined. A `balances` file's staged rows are applied by its reconciliation (a
`Reconciliation` record for the file), so the rule holds exactly once the date is reconciled; for loans, repayments and reversals a row still
STAGED (waiting for its run) counts as accounted for, so the check can run at any time.
Registered from `LendingConfig.ready()`.
"""

from __future__ import annotations

from datetime import date

from django.db import connection

from config.sql_literals import lit
from lending.intake.models import StagedRowStatus
from partners.models import InboundFileStatus

# One statement over the accepted files: per file, its staged rows (one accepted file per
# partner, kind and date, so those of its kind, partner and date are the file's rows — read
# through the (partner, business_date) indexes, b-tree or BRIN, so the cost is the file's, not
# the history's)
# and its quarantined rows (intake or apply stage; a row quarantined at apply is counted once).
# A file's rows are numbered from 1: a staff correction's replay (lending.intake.corrections)
# is staged, and may be quarantined, under −(its correction's id) and is checked there.
_STAGED = {"loans": "lending_stagedloan", "repayments": "lending_stagedrepayment",
           "reversals": "lending_stagedreversal", "balances": "lending_stagedbalance"}
_SQL = f"""
WITH f AS (
    SELECT i.id, i.name, i.kind, i.partner_id, i.business_date, coalesce(i.rows, 0) AS rows,
           EXISTS (SELECT 1 FROM lending_reconciliation r WHERE r.file_id = i.id) AS reconciled
      FROM partners_inboundfile i
     WHERE i.status = {lit(InboundFileStatus.ACCEPTED)}
       AND (%(day)s::date IS NULL OR i.business_date = %(day)s::date)
       AND (%(partner)s::bigint IS NULL OR i.partner_id = %(partner)s::bigint)
)
SELECT f.name, f.kind, f.business_date, f.rows,
       coalesce(s.applied, 0) + CASE WHEN f.reconciled THEN coalesce(s.staged, 0) ELSE 0 END,
       CASE WHEN f.reconciled THEN 0 ELSE coalesce(s.staged, 0) END,
       (SELECT count(DISTINCT q.row_no) FROM partners_quarantinedrow q
         WHERE q.file_id = f.id AND q.row_no > 0) AS quarantined
  FROM f
 CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE u.status = {lit(StagedRowStatus.APPLIED)}) AS applied,
           count(*) FILTER (WHERE u.status = {lit(StagedRowStatus.STAGED)}) AS staged
      FROM ({{staged}}) u
 ) s
 ORDER BY f.business_date, f.name, f.id
""".replace("{staged}", "\n UNION ALL ".join(
    f"SELECT x.status FROM {table} x WHERE f.kind = '{kind}' AND x.partner_id = f.partner_id"
    " AND x.business_date = f.business_date AND x.row_no > 0" for kind, table in _STAGED.items()))


def file_rows_accounted(*, as_of: date | None = None, partner_id: int | None = None
                        ) -> list[str]:
    """For every accepted file of the date (all dates when None) and partner (all when None):
    rows = applied + quarantined (balances), or applied-or-waiting + quarantined (the other
    kinds)."""
    problems = []
    with connection.cursor() as cur:
        cur.execute(_SQL, {"day": as_of, "partner": partner_id})
        for name, kind, day, rows, applied, staged, quarantined in cur.fetchall():
            if kind == "balances":
                if rows != applied + quarantined:
                    problems.append(
                        f"file {name} ({kind}, {day}): {rows} rows but {applied} applied + "
                        f"{quarantined} quarantined = {applied + quarantined}"
                        + (f" ({staged} staged rows not yet reconciled)" if staged else ""))
            elif rows != applied + staged + quarantined:
                problems.append(
                    f"file {name} ({kind}, {day}): {rows} rows but {applied} applied + "
                    f"{staged} staged + {quarantined} quarantined = "
                    f"{applied + staged + quarantined}")
    return problems
