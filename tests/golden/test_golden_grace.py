"""Golden days of a program with grace days (宽限期, DOMAIN R9): an unpaid instalment is DUE,
not OVERDUE, and bears no penalty until its due date plus the grace days; then penalty runs
from that day, not back to the due date. DPD still counts from the due date.

The 10,000.00 / 18 % / 12-month loan of the other golden days (bank 70 %, ALPHA 30 %) in a
program with 3 grace days: period 1 (766.80 principal + 150.00 interest) falls due on 02-15
and is not paid. Penalty 27 %/yr /360 = 0.075 % a day on 766.80 = 0.5751 → 0.58 and compound
on 150.00 = 0.1125 → 0.11 for one day; the bank's 70 %: HALF_UP(0.58 × 0.7) + HALF_UP(0.11 ×
0.7) = 0.41 + 0.08 = 0.49.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from ledger.domain import chart
from lending.models import Loan
from tests.golden.helpers import (
    gl,
    installments,
    loan_row_in,
    movements,
    pay_row,
    positions,
    program_in,
    settle,
)

pytestmark = pytest.mark.django_db

DUE = date(2026, 2, 15)


@pytest.fixture
def grace_program(golden):
    return program_in(golden, "GRACE", "three grace days", claim_trigger_dpd=None,
                      write_off_dpd=None, grace_days=3)


def state(day):
    loan = Loan.objects.get(loan_no="L1")
    return (installments("L1")[0][6], loan.state, loan.dpd, positions("L1", day)["BANK"][2])


def test_no_penalty_and_not_overdue_within_the_grace_days(grace_program):
    settle(date(2026, 1, 15), loans=[loan_row_in("GRACE", "L1")])
    settle(DUE)
    assert state(DUE) == ("DUE", "ACTIVE", 0, 0)
    settle(date(2026, 2, 17))
    assert state(date(2026, 2, 17)) == ("DUE", "OVERDUE", 2, 0)
    settle(date(2026, 2, 18))  # the last grace day: penalty starts from here
    assert state(date(2026, 2, 18)) == ("DUE", "OVERDUE", 3, 0)
    day = date(2026, 2, 19)
    settle(day)
    assert state(day) == ("OVERDUE", "OVERDUE", 4, D("0.49"))
    assert gl(chart.PENALTY_RECEIVABLE, day, program="ALPHA/GRACE") == D("0.49")


def test_a_partial_payment_within_the_grace_days_leaves_the_instalment_due(grace_program):
    # 100.00 on 02-17 pays interest first (150.00 → 50.00 left); no penalty has run, and the
    # instalment stays DUE. From 02-18: penalty 0.58 on 766.80 as above, compound on 50.00
    # 0.0375 → 0.04; bank 0.41 + HALF_UP(0.04 × 0.7) = 0.41 + 0.03 = 0.44 on 02-19.
    settle(date(2026, 1, 15), loans=[loan_row_in("GRACE", "L1")])
    settle(DUE)
    paid = date(2026, 2, 17)
    settle(paid, repayments=[pay_row("T1", "L1", paid, "100.00")])
    assert movements("L1", paid) == {("BANK", "COLLECT", "INTEREST"): D("70.00"),
                                     ("ALPHA", "COLLECT", "INTEREST"): D("30.00")}
    assert state(paid) == ("DUE", "OVERDUE", 2, 0)
    day = date(2026, 2, 19)
    settle(day)
    assert state(day) == ("OVERDUE", "OVERDUE", 4, D("0.44"))


def test_a_grace_end_is_not_a_rounding_point(grace_program):
    # Instalment 1 (766.80 + 150.00, due 02-15) and instalment 2 (778.30 + 138.50, due 03-15)
    # are never paid. Billing instalment 2 on 03-15 rounds the penalty run so far: 02-18 →
    # 03-15, 25 days at 0.075 % a day, penalty 766.80 → 14.3775 → 14.38, compound 150.00 →
    # 2.8125 → 2.81. Instalment 2's grace ends on 03-18: the bases grow to 1,545.10 / 288.50,
    # which is a change of base, not a rounding point (DOMAIN §8.6). On 03-19 the penalty since
    # 03-15 is rounded once: (766.80 × 3 + 1,545.10 × 1) × 0.075 % = 2.8836 → 2.88 (rounding
    # at the grace end gave 1.73 + 1.16 = 2.89), compound (150.00 × 3 + 288.50) × 0.075 % =
    # 0.553875 → 0.55 (0.34 + 0.22 = 0.56).
    settle(date(2026, 1, 15), loans=[loan_row_in("GRACE", "L1")])
    settle(DUE)
    settle(date(2026, 3, 16))
    assert [i[2:4] for i in installments("L1")[:2]] == [(D("766.80"), D("150.00")),
                                                        (D("778.30"), D("138.50"))]
    day = date(2026, 3, 19)
    settle(day)
    # positions: penalty + compound of every funder
    assert sum(p[2] for p in positions("L1", day).values()) == (
        D("14.38") + D("2.88") + D("2.81") + D("0.55"))
    # The next rounding point (a payment, here on 03-20) rounds the carried amount × days
    # with the days since: (766.80 × 3 + 1,545.10 × 2) × 0.075 % = 4.0428 → 4.04, compound
    # (150.00 × 3 + 288.50 × 2) × 0.075 % = 0.77025 → 0.77; the 10.00 pays penalty first.
    paid = date(2026, 3, 20)
    settle(paid, repayments=[pay_row("T1", "L1", paid, "10.00")])
    assert movements("L1", paid)[("BANK", "COLLECT", "PENALTY")] + movements("L1", paid)[
        ("ALPHA", "COLLECT", "PENALTY")] == D("10.00")
    assert sum(p[2] for p in positions("L1", paid).values()) == (
        D("14.38") + D("4.04") + D("2.81") + D("0.77") - D("10.00"))
