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

# One statement over the accepted files: staged rows per (partner, date) of the file's kind
# (one accepted file per partner, kind and date, so those are the file's rows) and the file's
# quarantined rows (intake or apply stage; a row quarantined at apply is counted once).
_DAY = "(%(day)s::date IS NULL OR business_date = %(day)s::date)"
_SQL = """
WITH f AS (
    SELECT i.id, i.name, i.kind, i.partner_id, i.business_date, coalesce(i.rows, 0) AS rows,
           EXISTS (SELECT 1 FROM lending_reconciliation r WHERE r.file_id = i.id) AS reconciled
      FROM partners_inboundfile i
     WHERE i.status = 'ACCEPTED' AND {day}
), staged AS (
    SELECT 'loans' AS kind, partner_id, business_date, status, count(*) AS n
      FROM lending_stagedloan WHERE {day} GROUP BY 2, 3, 4
    UNION ALL
    SELECT 'repayments', partner_id, business_date, status, count(*)
      FROM lending_stagedrepayment WHERE {day} GROUP BY 2, 3, 4
    UNION ALL
    SELECT 'reversals', partner_id, business_date, status, count(*)
      FROM lending_stagedreversal WHERE {day} GROUP BY 2, 3, 4
    UNION ALL
    SELECT 'balances', partner_id, business_date, status, count(*)
      FROM lending_stagedbalance WHERE {day} GROUP BY 2, 3, 4
)
SELECT f.name, f.kind, f.business_date, f.rows,
       coalesce(sum(s.n) FILTER (WHERE s.status = 'APPLIED'
                                    OR s.status = 'STAGED' AND f.reconciled), 0) AS applied,
       coalesce(sum(s.n) FILTER (WHERE s.status = 'STAGED' AND NOT f.reconciled), 0) AS staged,
       (SELECT count(DISTINCT q.row_no) FROM partners_quarantinedrow q
         WHERE q.file_id = f.id) AS quarantined
  FROM f
  LEFT JOIN staged s ON s.kind = f.kind AND s.partner_id = f.partner_id
       AND s.business_date = f.business_date
 GROUP BY f.id, f.name, f.kind, f.business_date, f.rows, f.reconciled
 ORDER BY f.business_date, f.name, f.id
""".replace("{day}", _DAY)


def file_rows_accounted(*, as_of: date | None = None) -> list[str]:
    """For every accepted file of the date (all dates when None): rows = applied +
    quarantined (balances), or applied-or-waiting + quarantined (the other kinds)."""
    problems = []
    with connection.cursor() as cur:
        cur.execute(_SQL, {"day": as_of})
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
