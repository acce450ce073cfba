"""lending_position_totals (one pass, no per-loan window) = Σ lending_share_positions, and the
loan-level view reconciliation reads (lending_loan_accruals) = Σ over the loan's shares.

A loan with what splits unevenly: a guarantor share bought by a claim (a third, non-residual
funder), penalty and compound interest on overdue amounts split by weights, interest accrued part
way through a period — as of the claim day and 1, 17 and 45 days later (the golden claim flow of
tests/golden/test_golden_claims.py builds it). The simulation asserts the same every day."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from tests.golden.helpers import pay_row, settle
from tests.golden.test_golden_claims import PAID, to_claim

pytestmark = pytest.mark.django_db


def _rows(sql, params):
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


@pytest.mark.parametrize("offset", [0, 1, 17, 45])
def test_totals_and_loan_view_equal_the_share_positions(golden, offset):
    to_claim()
    settle(PAID, repayments=[pay_row("G1", "L1", PAID, "6159.75", payer="GUARANTOR")])
    day = PAID + timedelta(days=offset)
    partner = golden["platform"].pk
    shares = _rows("SELECT funder_id FROM lending_loanshare s JOIN lending_loan l"
                   " ON l.id = s.loan_id WHERE l.loan_no = 'L1'", [])
    assert len(shares) == 3  # bank, platform (residual), guarantor (bought by the claim)
    per_share = _rows("""SELECT funder_id, program_id, accruing, SUM(principal), SUM(interest),
                                SUM(penalty), SUM(compound)
                           FROM lending_share_positions(%s, %s) GROUP BY 1, 2, 3
                          ORDER BY 1, 2, 3""", [day, partner])
    totals = _rows("SELECT * FROM lending_position_totals(%s, %s) ORDER BY 1, 2, 3",
                   [day, partner])
    assert totals == per_share
    assert any(r[5] for r in totals), "the day must carry penalty for the test to mean much"
    per_loan = _rows("""SELECT loan_id, SUM(principal), SUM(interest), SUM(penalty + compound)
                          FROM lending_share_positions(%s, %s) GROUP BY 1 ORDER BY 1""",
                     [day, partner])
    loan_view = _rows("""SELECT id, principal_outstanding, interest_outstanding + acc,
                                penalty_outstanding + compound_outstanding + pen + cmp
                           FROM lending_loan_accruals(%s, %s) ORDER BY 1""", [day, partner])
    assert loan_view == per_loan
