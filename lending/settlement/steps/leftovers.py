"""The staged rows no chunk could reach (their loan is not booked), quarantined at the end."""

from __future__ import annotations

from django.db import transaction

from config.sql_literals import lit
from lending.intake.models import StagedRowStatus
from lending.settlement.models import SettlementRun
from lending.settlement.steps.common import (
    _exec,
    _fetch,
    _quarantine,
    _raw,
)
from partners.models import ReasonCode


@transaction.atomic
def quarantine_leftovers(*, run_id: int) -> int:
    """Staged rows the chunks could not reach (their loan is not booked) are quarantined."""
    run = SettlementRun.objects.get(pk=run_id)
    p, d = run.partner_id, run.business_date
    left = _fetch(
        f"""SELECT r.id, r.file_id, r.row_no, r.txn_no, r.loan_no, r.amount, 'R'
             FROM lending_stagedrepayment r
            WHERE r.partner_id = %s AND r.business_date = %s AND r.status = {lit(StagedRowStatus.STAGED)}
           UNION ALL
           SELECT v.id, v.file_id, v.row_no, v.txn_no, v.reverses_txn_no, v.amount, 'V'
             FROM lending_stagedreversal v
            WHERE v.partner_id = %s AND v.business_date = %s AND v.status = {lit(StagedRowStatus.STAGED)}""",
        [p, d, p, d])
    if not left:
        return 0
    _quarantine(p, d, [
        (f, n, "loan_no" if k == "R" else "reverses_txn_no",
         ReasonCode.UNKNOWN_LOAN.value if k == "R" else ReasonCode.NOT_REVERSIBLE.value,
         "the loan was not booked (its loans row was quarantined)" if k == "R"
         else "the reversed repayment was not applied",
         _raw((txn, ref, amt)), amt)
        for _id, f, n, txn, ref, amt, k in left])
    for k, table in (("R", "lending_stagedrepayment"), ("V", "lending_stagedreversal")):
        ids = [row[0] for row in left if row[6] == k]
        if ids:
            _exec(f"UPDATE {table} SET status = {lit(StagedRowStatus.QUARANTINED)}, applied_at = now()"
                  " WHERE id = ANY(%s)", [ids])
    return len(left)
