"""Step 2, book: one row range of the day's staged loans booked (shares, schedules) with
their DISBURSE movements."""

from __future__ import annotations

import logging
import time

from django.db import transaction

from config.sql_literals import lit
from lending import services
from lending.intake.models import StagedRowStatus
from lending.models import Component
from lending.settlement.models import MovementEvent, SettlementRun
from lending.settlement.steps.common import (
    _claim_chunk,
    _exec,
    _fetch,
    _finish_chunk,
    _quarantine,
    _raw,
)

log = logging.getLogger(__name__)


@transaction.atomic
def book_chunk(*, run_id: int, seq: int = 0) -> int:
    """Book one row range of the run's staged loans (shares, schedules) and their DISBURSE
    movements; a chunk already done is skipped."""
    started = time.monotonic()
    run = SettlementRun.objects.select_related("partner").get(pk=run_id)
    chunk = _claim_chunk(run, "BOOK", seq)
    if chunk is None:
        return 0
    day, partner = run.business_date, run.partner
    staged = _fetch(
        f"""SELECT id, file_id, row_no, loan_no, program_id, borrower_token, principal,
                  annual_rate, term_months, repayment_method, disbursed_on, first_due_on,
                  bank_approval_ref
             FROM lending_stagedloan
            WHERE partner_id = %s AND business_date = %s AND status = {lit(StagedRowStatus.STAGED)}
              AND row_no BETWEEN %s AND %s
            ORDER BY row_no""",
        [partner.pk, day, chunk.lo_id, chunk.hi_id],
    )
    by_ref = {str(r[0]): r for r in staged}
    result = services.loans_book(
        loans=[services.LoanToBook(
            partner_id=partner.pk, loan_no=r[3], program_id=r[4], borrower_token=r[5],
            principal=r[6], annual_rate=r[7], term_months=r[8], repayment_method=r[9],
            disbursed_on=r[10], first_due_on=r[11], bank_approval_ref=r[12], source_ref=str(r[0]),
        ) for r in staged],
        booked_on=day,
    )
    rejected_ids = {int(x.source_ref) for x in result.rejected}
    if result.rejected:
        _quarantine(partner.pk, day, [
            (by_ref[x.source_ref][1], by_ref[x.source_ref][2], x.column, x.reason, x.message,
             _raw(by_ref[x.source_ref][3:]), by_ref[x.source_ref][6])
            for x in result.rejected
        ])
        _exec(f"UPDATE lending_stagedloan SET status = {lit(StagedRowStatus.QUARANTINED)}, applied_at = now()"
              " WHERE id = ANY(%s)", [sorted(rejected_ids)])
    booked = [r for r in staged if r[0] not in rejected_ids]
    _exec(f"UPDATE lending_stagedloan SET status = {lit(StagedRowStatus.APPLIED)}, applied_at = now()"
          " WHERE id = ANY(%s)", [[r[0] for r in booked]])
    disburse_movements(run, loan_nos=[r[3] for r in booked])
    _finish_chunk(chunk, len(staged), started)
    log.info("book run=%s rows=%d booked=%d rejected=%d", run.pk, len(staged), result.booked,
             len(result.rejected))
    return result.booked


def disburse_movements(run: SettlementRun, *, loan_nos: list[str] | None) -> int:
    """The DISBURSE movement of every funded share of the partner's loans booked on the run's
    date: those numbered `loan_nos` (a book chunk's), or all of them (None)."""
    only = "AND l.loan_no = ANY(%(nos)s)" if loan_nos is not None else ""
    return _exec(
        f"""INSERT INTO lending_movement (business_date, run_id, loan_id, program_id, funder_id,
                   event, component, amount, installment_seq, txn_id, reversal, accruing)
            SELECT %(d)s, %(run)s, l.id, l.program_id, s.funder_id, {lit(MovementEvent.DISBURSE)}, {lit(Component.PRINCIPAL)},
                   s.funded_principal, NULL, NULL, false, true
              FROM lending_loan l JOIN lending_loanshare s ON s.loan_id = l.id
             WHERE l.partner_id = %(p)s AND l.booked_on = %(d)s {only}
               AND s.funded_principal <> 0""",
        {"d": run.business_date, "run": run.pk, "p": run.partner_id, "nos": loan_nos})
