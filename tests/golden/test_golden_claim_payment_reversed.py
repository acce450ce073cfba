"""The guarantor's claim payment (代偿) reversed after the borrower paid since (DOMAIN §8.3).

"A reversal restores the loan as if the reversed payment had never been made": the loan is
rebuilt from its state at the start of the claim payment's day and the days since replayed
without it, so the borrower's payment since, routed to the guarantor as a recovery, is the
bank's own collection again. (Before, the run refused the reversal NOT_REVERSIBLE until the
recoveries were reversed first; restored in place, a reversal also kept the claim payment's
day as a rounding point of penalty, a cent apart from the model.)

Program CL (claim at DPD 3) on the golden loan: 10,000.00 / 18 % / 12 × 916.80, disbursed
01-15, bank 70 % / ALPHA 30 %, penalty 0.075 % a day. Instalment 1 (02-15: 766.80 + 150.00)
unpaid: the claim is raised on 02-18 for 7,000.00 + 105.00 = 7,105.00; GUARD pays it on 02-20;
the borrower pays 916.80 on 02-25 (a recovery on GUARD's share); GUARD's payment bounces and
is reversed on 03-02.

Without the claim payment, penalty is rounded at the claim (02-18, 3 days: 1.73 / compound
0.34) and at the borrower's payment (02-25, 7 days: 766.80 → 4.03, 150.00 → 0.79): 5.76 and
1.13. The 916.80 pays them, interest 150.00 and principal 759.91: the bank's 531.94 (70 %),
ALPHA's 227.97. The bank's principal is 7,000.00 − 531.94 = 6,468.06; instalment 1 still owes
6.88 of principal, so the loan is OVERDUE, DPD 15 on 03-02, its claim raised and unpaid.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from lending.models import Loan
from lending.settlement.models import Claim
from tests.golden.helpers import loan_row_in, movements, pay_row, program_in, settle, shares

pytestmark = pytest.mark.django_db


def test_a_claim_payment_reversed_after_a_recovery_rebuilds_the_loan(golden):
    program_in(golden, "CL", "claims", claim_trigger_dpd=3)
    settle(date(2026, 1, 15), loans=[loan_row_in("CL", "C6")])
    for day in (16, 17, 18):
        settle(date(2026, 2, day))
    settle(date(2026, 2, 20), repayments=[pay_row("G1", "C6", "2026-02-20", "7105.00",
                                                  payer="GUARANTOR")])
    assert Loan.objects.get(loan_no="C6").state == "CLAIMED"
    settle(date(2026, 2, 25), repayments=[pay_row("B1", "C6", "2026-02-25", "916.80")])
    assert ("GUARD", "RECOVERY", "PRINCIPAL") in movements("C6", date(2026, 2, 25))

    rev = date(2026, 3, 2)
    settle(rev, reversals=[("V1", "G1", rev, "7105.00", "bounced")])
    claim = Claim.objects.get(loan__loan_no="C6")
    assert (claim.raised_on, claim.amount, claim.paid_amount, claim.status, claim.paid_on) == (
        date(2026, 2, 18), D("7105.00"), 0, "RAISED", None)
    loan = Loan.objects.get(loan_no="C6")
    assert (loan.state, loan.dpd, loan.claimed_on) == ("OVERDUE", 15, None)
    assert shares("C6")["BANK"][0] == D("6468.06")
    assert shares("C6")["GUARD"] == (0, 0, 0)
    m = movements("C6", rev)
    # the claim payment undone; B1 is the bank's collection now, not GUARD's recovery
    assert (m[("BANK", "CLAIM", "PRINCIPAL")], m[("BANK", "CLAIM", "INTEREST")]) == (
        D("-7000.00"), D("-105.00"))
    assert m[("BANK", "COLLECT", "PRINCIPAL")] == D("531.94")
    assert m[("GUARD", "RECOVERY", "PRINCIPAL")] == D("-531.94")
    # ALPHA's part of B1 is allocated as before (227.97 of principal): negated and replayed
    assert m.get(("ALPHA", "COLLECT", "PRINCIPAL"), 0) == 0
    # B1's 916.80 stays received: only whose it is changes
    assert sum(a for (_f, e, _c), a in m.items() if e in ("COLLECT", "RECOVERY")) == 0
