"""Acceptance 4 of issue 6: the journal lines posted for a day depend on programs and accounts,
not on the number of loans (DESIGN §7–8: batch posting is O(programs × accounts))."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from ledger.services import chart_of_accounts_load
from lending import services
from tests.factories import lending as f
from tests.golden.helpers import deliver_and_settle, loan_row, pay_row

pytestmark = pytest.mark.django_db

# The second portfolio settles later dates: the sub-ledger = GL check compares every platform
# as of its latest run on or before the date being checked, so a platform is never checked at
# a date before its own last settled one.
DAYS = {"SMALL": (date(2026, 1, 15), date(2026, 2, 15), date(2026, 3, 15)),
        "LARGE": (date(2026, 4, 15), date(2026, 5, 15), date(2026, 6, 15))}


def _platform(code: str) -> None:
    """A platform with a guarantor, a 70/30 agreement and one program CASH (as the golden days)."""
    platform = f.partner(code)
    guarantor = f.partner(f"{code}G", kind="GUARANTOR")
    agreement = services.agreement_create(code=f"AG-{code}", name=code, platform=platform,
                                          guarantor=guarantor)
    version = services.agreement_version_draft(
        agreement=agreement, effective_from=date(2020, 1, 1),
        funders=[services.FunderTerms(f.bank(), Decimal("0.70")),
                 services.FunderTerms(platform, Decimal("0.30"))],
        created_by=f.user("maker"))
    services.agreement_version_approve(version=version, approved_by=f.approver("checker"))
    services.program_create(partner=platform, agreement=agreement, code="CASH", name="cash",
                            repayment_methods=["EQUAL_INSTALLMENT"],
                            max_annual_rate=Decimal("0.24"), claim_trigger_dpd=80)


def _lines(code: str, day: date) -> int:
    with connection.cursor() as cur:
        cur.execute("""SELECT count(*) FROM ledger_journalline l
                         JOIN ledger_journalentry e ON e.id = l.entry_id
                        WHERE e.source_run = %s""", [f"settle:{day:%Y-%m-%d}:{code}"])
        return cur.fetchone()[0]


def _settle_day_of(code: str, loans: int) -> tuple[int, int]:
    """Book `loans` loans on d0; on d1 (their first due date) the same mix of events:
    on-time, partial, over- and prepayments, a missed instalment, a same-day reversal, and
    new loans worth a tenth of the portfolio. Returns the lines posted on d0 and on d1."""
    d0, d1, d2 = DAYS[code]
    _platform(code)
    deliver_and_settle(code, d0, loans=[loan_row(f"{code}-{i}", disbursed=d0.isoformat(),
                                                 first_due=d1.isoformat())
                                        for i in range(loans)])
    pays = []
    for i in range(loans):
        kind, amount = {0: ("SCHEDULED", "100.00"), 1: ("SCHEDULED", "1000.00"),
                        2: ("PREPAYMENT", "3000.00"), 3: (None, None)}.get(
            i % 10, ("SCHEDULED", "916.80"))
        if kind:
            pays.append(pay_row(f"{code}-T{i}", f"{code}-{i}", d1, amount, kind=kind))
    reversals = [(f"{code}-V1", f"{code}-T4", d1, "916.80", "BOUNCED")]
    new = [loan_row(f"{code}-N{i}", disbursed=d1.isoformat(), first_due=d2.isoformat())
           for i in range(loans // 10)]
    deliver_and_settle(code, d1, repayments=pays, reversals=reversals, loans=new)
    return _lines(code, d0), _lines(code, d1)


def test_journal_lines_of_a_day_do_not_grow_with_the_portfolio():
    chart_of_accounts_load()
    small = _settle_day_of("SMALL", 200)
    large = _settle_day_of("LARGE", 2000)
    assert small[1] > 10  # the day posts collections, suspense, disbursements, accruals
    assert small == large, f"lines posted (d0, d1): 200 loans {small}, 2,000 loans {large}"
