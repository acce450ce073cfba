"""lending.selectors' portfolio and settlement summaries on a hand-checked day (the demo's
summary figures): the bank's and the platform's shares split by partner kind."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from lending.models import Break, BreakStatus
from lending.selectors import portfolio_summary_list, settlement_summary_list
from tests.golden.helpers import deliver_and_settle, loan_row, pay_row

pytestmark = pytest.mark.django_db

D0, D1 = date(2026, 1, 15), date(2026, 2, 15)


def test_summaries_split_the_bank_from_the_partners(golden):
    deliver_and_settle("ALPHA", D0, loans=[loan_row("L1")])
    deliver_and_settle("ALPHA", D1, repayments=[pay_row("T1", "L1", D1, "916.80")])
    [line] = portfolio_summary_list()
    assert (line.partner, line.program, line.loans) == ("ALPHA", "CASH", 1)
    assert (line.principal, line.bank_principal, line.partner_principal) == (
        D("10000.00"), D("7000.00"), D("3000.00"))
    [day0] = settlement_summary_list(date_from=D0, date_to=D0)
    assert (day0.partner, day0.days, day0.collections, day0.disbursed_bank) == (
        "ALPHA", 1, D("0"), D("7000.00"))
    assert day0.net_settlement == D("-7000.00")
    open_breaks = Break.objects.filter(partner__code="ALPHA", status=BreakStatus.OPEN).count()
    assert day0.breaks_open == open_breaks
    [both] = settlement_summary_list()
    assert both.days == 2 and both.disbursed_bank == D("7000.00")
    # D1's 916.80 payment: 536.76 principal + 105.00 interest to the bank (the golden day),
    # the rest of it to the platform's 30 %
    assert both.bank_share == D("641.76")
    assert both.collections == both.bank_share + both.partner_share
