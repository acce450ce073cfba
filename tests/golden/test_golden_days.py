"""Hand-checked settlement days (DOMAIN §3 numbers): files in, postings and statements out."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from ledger import checks
from ledger.domain import chart
from lending.models import Loan
from lending.settlement import posting, runner
from partners.models import Partner, QuarantinedRow
from tests.golden.helpers import (
    deliver_and_settle,
    gl,
    loan_row,
    pay_row,
    shares,
    statement,
)

pytestmark = pytest.mark.django_db

D0, D1, D2 = date(2026, 1, 15), date(2026, 2, 15), date(2026, 3, 15)


def test_disbursement_then_on_time_payments(golden):
    deliver_and_settle("ALPHA", D0, loans=[loan_row("L1")])
    assert shares("L1") == {"BANK": (D("7000.00"), 0, 0), "ALPHA": (D("3000.00"), 0, 0)}
    assert gl(chart.LOANS_RECEIVABLE, D0) == D("7000.00")
    assert gl(chart.LOANS_RECEIVABLE, D0, book="MEMO_ALPHA") == D("3000.00")
    net, lines = statement("ALPHA", D0)
    assert net == D("-7000.00") and lines == {"DISBURSEMENT": D("-7000.00")}

    deliver_and_settle("ALPHA", D1, repayments=[pay_row("T1", "L1", D1, "916.80")])
    net, lines = statement("ALPHA", D1)
    assert lines == {"COLLECTION_PRINCIPAL": D("536.76"), "COLLECTION_INTEREST": D("105.00")}
    assert net == D("641.76")
    assert gl(chart.INTEREST_INCOME, D1) == D("105.00")
    assert gl(chart.INTEREST_RECEIVABLE, D1) == 0

    deliver_and_settle("ALPHA", D2, repayments=[pay_row("T2", "L1", D2, "916.80")])
    assert shares("L1")["BANK"][0] == D("5918.43")
    assert shares("L1")["ALPHA"][0] == D("2536.47")
    assert gl(chart.LOANS_RECEIVABLE, D2) == D("5918.43")
    assert checks.run_checks(as_of=D2) == []


def test_mid_period_accrual_is_derived_and_a_rerun_posts_nothing(golden):
    deliver_and_settle("ALPHA", D0, loans=[loan_row("L1")])
    mid = date(2026, 1, 31)  # 16 of 31 days of the 150.00 first-period interest
    run = deliver_and_settle("ALPHA", mid)
    assert gl(chart.INTEREST_RECEIVABLE, mid) == D("54.19")  # 70 % of HALF_UP(150 × 16/31)
    before = posting.fingerprint(mid, "ALPHA")
    again = runner.settlement_run(partner=Partner.objects.get(code="ALPHA"),
                                  business_date=mid)
    assert again.state == "DONE" and again.totals["posted"]["event_entries"] == 0
    assert again.totals["posted"]["accrual_entries"] == 0
    assert posting.fingerprint(mid, "ALPHA") == before == run.fingerprint


def test_overdue_with_penalty_then_partial_payment(golden):
    deliver_and_settle("ALPHA", D0, loans=[loan_row("L1")])
    deliver_and_settle("ALPHA", D1, repayments=[pay_row("T1", "L1", D1, "916.80")])
    deliver_and_settle("ALPHA", D2, repayments=[pay_row("T2", "L1", D2, "916.80")])
    d3 = date(2026, 4, 15)
    deliver_and_settle("ALPHA", d3)
    late = date(2026, 4, 25)
    deliver_and_settle("ALPHA", late, repayments=[pay_row("T3", "L1", late, "500.00")])
    net, lines = statement("ALPHA", late)
    assert lines == {"COLLECTION_PENALTY": D("4.81"), "COLLECTION_INTEREST": D("88.77"),
                     "COLLECTION_PRINCIPAL": D("256.42")}
    loan = Loan.objects.get(loan_no="L1")
    assert loan.dpd == 10 and loan.state == "OVERDUE" and loan.risk_class == "SPECIAL_MENTION"
    assert checks.run_checks(as_of=late) == []


def test_payment_on_an_unknown_or_closed_loan_is_quarantined_at_apply(golden):
    deliver_and_settle("ALPHA", D0, loans=[loan_row("L1", principal="1000.00", term=3)])
    deliver_and_settle("ALPHA", D1, repayments=[
        pay_row("P1", "L1", D1, "2000.00", kind="PAYOFF"),
        pay_row("P2", "L1", D1, "10.00"),
    ])
    q = QuarantinedRow.objects.get(stage="APPLY")
    assert (q.reason, q.row_no) == ("LOAN_CLOSED", 2)
    net, lines = statement("ALPHA", D1)
    assert lines["OVERPAYMENT"] == D("985.00")  # 2,000 − (1,000 + 15.00 interest)
    assert Loan.objects.get(loan_no="L1").state == "PAID_OFF"
    assert checks.run_checks(as_of=D1) == []
