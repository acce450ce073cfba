"""The check_ledger check: for every accepted file, rows = applied (or waiting) + quarantined."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from ledger import checks
from lending.models import Reconciliation, StagedBalance, StagedRepayment
from lending.reconciliation import services
from lending.reconciliation.checks import file_rows_accounted
from partners.models import QuarantinedRow
from tests.factories import reconciliation as rf

pytestmark = pytest.mark.django_db

D = date(2026, 6, 16)


def _quarantine(inbound, row_no: int, stage: str = "INTAKE") -> None:
    QuarantinedRow.objects.create(file=inbound, partner=inbound.partner,
                                  business_date=inbound.business_date, row_no=row_no,
                                  reason="BAD_AMOUNT", message="bad", raw="x", stage=stage)


def _repayments(partner, rows: int, staged: int, *, status: str = "STAGED"):
    inbound = rf.inbound_file(partner, "repayments", D, rows)
    StagedRepayment.objects.bulk_create([
        StagedRepayment(file=inbound, row_no=i, partner=partner, business_date=D, status=status,
                        txn_no=f"T{i}", loan_no="L1", paid_on=D, amount=Decimal("1.00"),
                        payer="BORROWER", kind="SCHEDULED")
        for i in range(1, staged + 1)])
    return inbound


@pytest.fixture
def platform():
    partner, program = rf.platform_with_program("ALPHA")
    rf.loans(program, ["L1"])
    return partner


def test_registered_with_the_ledger_checks():
    assert "lending.file_rows_accounted" in checks.registered()


def test_files_that_add_up_pass(platform):
    inbound = _repayments(platform, rows=3, staged=2)
    _quarantine(inbound, 3)
    rf.balances_file(platform, D, [("L1", "10000.00", "50.00", "0.00", 0, "ACTIVE")])
    services.breaks_reconcile(partner_id=platform.pk, business_date=D)
    assert file_rows_accounted(as_of=D) == []
    assert file_rows_accounted(as_of=None) == []
    # a row quarantined at apply time is counted once (staged QUARANTINED + its quarantine row)
    StagedRepayment.objects.filter(row_no=2).update(status="QUARANTINED", applied_at=timezone.now())
    _quarantine(inbound, 2, stage="APPLY")
    assert file_rows_accounted(as_of=D) == []


def test_a_missing_row_is_reported_with_the_file_and_counts(platform):
    inbound = _repayments(platform, rows=4, staged=2)
    _quarantine(inbound, 3)
    problems = file_rows_accounted(as_of=D)
    assert problems == [f"file {inbound.name} (repayments, 2026-06-16): 4 rows but 0 applied + "
                        "2 staged + 1 quarantined = 3"]
    assert file_rows_accounted(as_of=date(2026, 6, 17)) == []
    assert any(inbound.name in p for p in checks.run_checks(as_of=D))


def test_balances_rows_count_only_once_reconciled(platform):
    inbound = rf.balances_file(platform, D, [("L1", "10000.00", "50.00", "0.00", 0, "ACTIVE")])
    assert file_rows_accounted(as_of=D) == [
        f"file {inbound.name} (balances, 2026-06-16): 1 rows but 0 applied + 0 quarantined = 0"
        " (1 staged rows not yet reconciled)"]
    services.breaks_reconcile(partner_id=platform.pk, business_date=D)
    record = Reconciliation.objects.get(file=inbound)
    assert (record.their_rows, record.business_date) == (1, D)
    assert StagedBalance.objects.get().status == "STAGED"  # the row itself is not rewritten
    assert file_rows_accounted(as_of=D) == []
