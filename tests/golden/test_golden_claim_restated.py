"""A claim restated larger by a reversal after the guarantor paid it (DOMAIN §3.6, §8.3).

Program CL (claim at DPD 3, scope principal + interest) on the golden loan: 10,000.00 / 18 % /
12 × 916.80, disbursed 01-15, bank 70 % / ALPHA 30 %. Instalment 1 (766.80 + 150.00) is paid
on its due date 02-15 (T1); instalment 2 (03-15: 778.30 + 138.50) is not, so the claim is
raised on 03-18 for the bank's 6,463.24 + 96.95 = 6,560.19, and GUARD pays exactly that on
03-19: the bank's share is bought, the loan CLAIMED.

T1 is then reversed (03-20). As if it had never been made (§8.3), the loan reached DPD 3 on
02-18 and the claim is raised that day for 7,000.00 + 105.00 = 7,105.00. GUARD's 6,560.19 is
now a part-payment of it: it buys principal first (interest first would take the 96.95 of
instalment 2 billed after the claim day, which the claim does not buy), the bank keeps 439.81
of principal and its interest, and the claim stays open for 544.81. GUARD's payment of the
rest buys 439.81 of principal and the claim's 105.00 of interest; the bank's 96.95 billed
since goes across without cash, and the loan is CLAIMED.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from lending.models import Loan
from lending.settlement.models import Claim
from tests.golden.helpers import loan_row_in, movements, pay_row, program_in, settle, shares

pytestmark = pytest.mark.django_db


def _claim() -> tuple:
    c = Claim.objects.get(loan__loan_no="C5")
    return c.raised_on, c.amount, c.paid_amount, c.status


def test_a_claim_restated_larger_is_part_paid_then_paid_in_full(golden):
    program_in(golden, "CL", "claims", claim_trigger_dpd=3)
    settle(date(2026, 1, 15), loans=[loan_row_in("CL", "C5")])
    settle(date(2026, 2, 16), repayments=[pay_row("T1", "C5", "2026-02-15", "916.80")])
    for day in (date(2026, 2, 17), date(2026, 2, 18), date(2026, 3, 16), date(2026, 3, 17),
                date(2026, 3, 18)):
        settle(day)
    assert _claim() == (date(2026, 3, 18), D("6560.19"), 0, "RAISED")
    settle(date(2026, 3, 19), repayments=[pay_row("G1", "C5", "2026-03-19", "6560.19",
                                                  payer="GUARANTOR")])
    assert _claim()[2:] == (D("6560.19"), "PAID")
    assert Loan.objects.get(loan_no="C5").state == "CLAIMED"

    rev = date(2026, 3, 20)
    settle(rev, reversals=[("V1", "T1", rev, "916.80", "chargeback")])
    assert _claim() == (date(2026, 2, 18), D("7105.00"), D("6560.19"), "RAISED")
    loan = Loan.objects.get(loan_no="C5")
    assert (loan.state, loan.dpd) == ("OVERDUE", 33)
    # The bank keeps 7,000.00 − 6,560.19 = 439.81 of principal and its interest 105.00 +
    # 96.95; GUARD holds the 6,560.19 it bought.
    assert shares("C5")["BANK"][:2] == (D("439.81"), D("201.95"))
    assert shares("C5")["GUARD"][:2] == (D("6560.19"), 0)

    paid = date(2026, 3, 23)
    settle(paid, repayments=[pay_row("G2", "C5", "2026-03-23", "544.81", payer="GUARANTOR")])
    m = movements("C5", paid)
    assert (m[("BANK", "CLAIM", "PRINCIPAL")], m[("BANK", "CLAIM", "INTEREST")],
            m[("BANK", "TRANSFER_OUT", "INTEREST")]) == (D("439.81"), D("105.00"), D("96.95"))
    assert ("BANK", "CLAIM_EXCESS", "OVERPAYMENT") not in m
    assert _claim() == (date(2026, 2, 18), D("7105.00"), D("7105.00"), "PAID")
    assert Loan.objects.get(loan_no="C5").state == "CLAIMED"
    assert shares("C5")["BANK"] == (0, 0, 0)
    assert shares("C5")["GUARD"][:2] == (D("7000.00"), D("201.95"))
