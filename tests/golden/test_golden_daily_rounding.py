"""A DAILY (随借随还) loan's interest runs on the balance day by day (DOMAIN §3.3), unrounded;
each rounding point rounds what ran since it (§8.6). Found by the oracle: 19,793.44 at 12 %
(6.5978133 a day), a payment of 0.01 on 04-05 crystallised 16 days, 105.5650 → 105.57; the
next 16 days are 105.5650 again, 105.57 in the position on 04-21. The engine carried the
crystallised rounding (−0.005) into the rest of the term, as it does for an instalment's
scheduled interest: 105.56.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from tests.golden.helpers import hu, loan_row, pay_row, positions, settle

pytestmark = pytest.mark.django_db


def test_a_daily_loan_rounds_what_ran_since_each_rounding_point(golden):
    settle(date(2026, 3, 20), loans=[loan_row("D1", principal="19793.44", rate="0.12", term=0,
                                              method="DAILY", disbursed="2026-03-20",
                                              first_due="")])
    settle(date(2026, 4, 7), repayments=[pay_row("T1", "D1", "2026-04-05", "0.01")])
    day = date(2026, 4, 21)
    settle(day)
    a_day = D("19793.44") * D("0.12") / 360
    assert hu(a_day * 16) == D("105.57")
    interest = sum((p[1] for p in positions("D1", day).values()), D(0))
    assert interest == hu(a_day * 16) - D("0.01") + hu(a_day * 16) == D("211.13")
