"""One balances-file row at a time against its loan (see benchmarks.yardstick)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from benchmarks.yardstick.accruals import _interest_to, _penalty_to
from benchmarks.yardstick.common import (
    ZERO,
)
from lending.models import (
    Loan,
    StagedBalance,
)
from lending.reconciliation.models import Break, BreakKind, BreakStatus
from lending.reconciliation.services import AMOUNT_TOLERANCE

# --- Balances file ------------------------------------------------------------------------------


def balance_compare_one(*, staged_id: int, day: date) -> int:
    """Reconcile one row of the partner's balances file the per-event way; returns the breaks
    written (opened, seen again or cleared), as lending.reconciliation.services records them."""
    with transaction.atomic():
        row = StagedBalance.objects.get(pk=staged_id)
        try:
            loan = Loan.objects.select_related("program").get(
                partner_id=row.partner_id, loan_no=row.loan_no, booked_on__lte=day)
        except Loan.DoesNotExist:
            loan = None
        theirs_p = row.principal_outstanding
        diffs: list[tuple[str, str, str, str, Decimal | None]] = []
        if loan is None:
            diffs.append((BreakKind.MISSING_AT_BANK, "", "", str(theirs_p), theirs_p))
        else:
            shares = list(loan.shares.all())
            pen, cmp_ = _penalty_to(loan, loan.program, day)
            ours = {
                "PRINCIPAL": sum((s.principal_outstanding for s in shares), ZERO),
                "INTEREST": sum((s.interest_outstanding for s in shares), ZERO)
                + _interest_to(loan, day),
                "PENALTY": sum((s.penalty_outstanding + s.compound_outstanding for s in shares),
                               ZERO) + pen + cmp_,
            }
            theirs = {"PRINCIPAL": theirs_p, "INTEREST": row.interest_outstanding,
                      "PENALTY": row.penalty_outstanding}
            for name in ("PRINCIPAL", "INTEREST", "PENALTY"):
                if theirs[name] != ours[name]:
                    diffs.append((BreakKind.AMOUNT_MISMATCH, name, str(ours[name]),
                                  str(theirs[name]), theirs[name] - ours[name]))
            if row.loan_status != loan.state:
                diffs.append((BreakKind.STATUS_MISMATCH, "", loan.state, row.loan_status, None))
            if row.dpd != loan.dpd:
                diffs.append((BreakKind.DPD_MISMATCH, "", str(loan.dpd), str(row.dpd),
                              Decimal(row.dpd - loan.dpd)))
        open_breaks = {(b.kind, b.field): b for b in Break.objects.filter(
            partner_id=row.partner_id, loan_no=row.loan_no, status=BreakStatus.OPEN)}
        now, written = timezone.now(), 0
        within = []
        for kind, field, ours_text, theirs_text, difference in diffs:
            if kind == BreakKind.AMOUNT_MISMATCH and abs(difference) <= AMOUNT_TOLERANCE:
                within.append((kind, field, ours_text, theirs_text, difference))
                continue
            seen = open_breaks.pop((kind, field), None)
            if seen is None:
                Break.objects.create(
                    partner_id=row.partner_id, business_date=day, last_seen_on=day,
                    loan_no=row.loan_no, loan=loan, kind=kind, field=field, ours=ours_text,
                    theirs=theirs_text, difference=difference)
                written += 1
            elif seen.last_seen_on < day:
                seen.last_seen_on, seen.ours, seen.theirs = day, ours_text, theirs_text
                seen.difference, seen.loan = difference, loan or seen.loan
                seen.save(update_fields=["last_seen_on", "ours", "theirs", "difference",
                                         "loan"])
                written += 1
        for b in open_breaks.values():  # no longer differing beyond the tolerance
            if b.last_seen_on <= day:
                b.status, b.resolved_at = BreakStatus.AUTO_CLEARED, now
                b.resolution_note = ("no longer differs (beyond the program's tolerance) "
                                     f"on {day}")
                b.save(update_fields=["status", "resolved_at", "resolution_note"])
                written += 1
        for kind, field, ours_text, theirs_text, difference in within:
            Break.objects.create(
                partner_id=row.partner_id, business_date=day, last_seen_on=day,
                loan_no=row.loan_no, loan=loan, kind=kind, field=field, ours=ours_text,
                theirs=theirs_text, difference=difference, status=BreakStatus.AUTO_CLEARED,
                resolution_note=f"within tolerance {AMOUNT_TOLERANCE}", resolved_at=now)
            written += 1
        return written
