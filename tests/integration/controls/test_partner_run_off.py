"""Issue 21, partner status in the run: a SUSPENDED or TERMINATED partner lends no more, but its
existing loans keep being serviced (run-off). Platform OPA (tests/factories/operations.py) books
loans on Friday while ACTIVE; then its status changes, and Monday's files — new loans and a
prepayment of Friday's loan, imported as staff take them (a TERMINATED partner's files come only
from staff; the API refusals: tests/functional/intake/test_partner_status_api.py) — are settled:
the new loans are refused, the prepayment is applied and posted."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Sum

from ledger import checks
from lending.intake.models import StagedRepayment
from lending.models import Loan
from lending.settlement import runner
from lending.settlement.models import Movement, RunState
from partners.models import Partner, QuarantinedRow
from tests.factories import operations as ops

pytestmark = pytest.mark.django_db

CODE = "OPA"
FRI, MON = date(2026, 11, 6), date(2026, 11, 9)


def _deliver_and_settle(day: date, rows: dict) -> None:
    files = ops.build(CODE, day, rows)
    for kind in ops.KINDS:
        assert ops.deliver(*files[kind])["status"] == "ACCEPTED", kind
    run = runner.settlement_run(partner=Partner.objects.get(code=CODE), business_date=day)
    assert (run.state, run.error) == (RunState.DONE, "")


@pytest.mark.parametrize("status", ["SUSPENDED", "TERMINATED"])
def test_a_partner_that_stopped_lending_still_has_its_loans_serviced(status):
    ops.world_setup()
    _deliver_and_settle(FRI, ops.day_files(CODE, FRI, random.Random("runoff:fri")))
    booked = set(Loan.objects.filter(partner__code=CODE).values_list("loan_no", flat=True))
    loan = Loan.objects.filter(partner__code=CODE, state="ACTIVE").order_by("pk").first()
    assert loan is not None

    Partner.objects.filter(code=CODE).update(status=status)
    rows = ops.day_files(CODE, MON, random.Random("runoff:mon"))
    rows["loans"] = ops._loans(CODE, MON, random.Random("runoff:mon:loans"), 2)
    new = [r[0] for r in rows["loans"]]
    rows["repayments"] = [r for r in rows["repayments"] if r[1] in booked
                          and r[1] != loan.loan_no] + [
        ("RUNOFF1", loan.loan_no, MON, "100.00", "BORROWER", "PREPAYMENT")]
    rows["reversals"] = []
    _deliver_and_settle(MON, rows)

    # no new lending: Monday's loans are refused, naming the status
    assert set(Loan.objects.filter(partner__code=CODE).values_list("loan_no", flat=True)) == \
        booked
    refused = QuarantinedRow.objects.filter(partner__code=CODE, business_date=MON,
                                            file__kind="loans")
    assert sorted(r.raw.split(",")[0] for r in refused) == sorted(new)
    assert all(f"is {status}" in r.message for r in refused)
    # servicing goes on: every repayment of the day is applied, the prepayment posted
    repayments = StagedRepayment.objects.filter(partner__code=CODE, business_date=MON)
    assert set(repayments.values_list("status", flat=True)) == {"APPLIED"}
    staged = repayments.get(txn_no="RUNOFF1")
    moved = Movement.objects.filter(txn_id=staged.pk, loan=loan, business_date=MON)
    assert moved.aggregate(s=Sum("amount"))["s"] == Decimal("100.00")
    assert checks.run_checks(as_of=MON, partner_id=loan.partner_id) == []
