"""`_TOUCHED` (lending.settlement.steps.apply) decides which loans a business day processes;
every other loan is left to the derived positions (lending/sql/positions.sql). Skipping a loan
is right only if the loan day would have done nothing to it. This test holds the SQL to the
domain: random loans of every method are settled through real days (payments of every kind,
partial and late ones, advances), then for each of the next 120 calendar days every loan the
SQL does not select is run through `lending.domain.loan_day` with no events, and that must
change nothing — no movement, no claim, the same state, instalments and shares (the DPD, which
the day's aging sets in SQL for every loan, aside).
"""

from __future__ import annotations

import dataclasses
import random
from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from lending.domain.loan_day import loan_day
from lending.settlement.steps.apply import _TOUCHED, _load_state, _TermsCache
from lending.settlement.steps.common import _fetch
from partners.models import Partner
from tests.golden.conftest import golden  # noqa: F401  (the golden partner, agreement, program)
from tests.golden.helpers import loan_row, pay_row, settle

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

METHODS = ["EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL", "INTEREST_FIRST", "DAILY"]
KINDS = ["SCHEDULED", "SCHEDULED", "SCHEDULED", "PREPAYMENT"]
# paid on the day (a Monday) or on the weekend before it (§8.11: a value date)
DAYS = [date(2026, 2, 16), date(2026, 3, 16), date(2026, 4, 20), date(2026, 5, 18)]


def _snapshot(loan) -> dict:
    snap = dataclasses.asdict(loan)
    snap.pop("dpd")  # set for every loan by the day's aging in SQL
    for inst in snap["insts"]:
        inst.pop("dirty", None)
    return snap


@pytest.mark.parametrize("seed", [1, 2])
def test_a_loan_the_day_does_not_select_would_not_change(golden, seed):  # noqa: F811
    rnd = random.Random(seed)
    n = 24
    methods = [METHODS[k % 4] for k in range(n)]
    settle(date(2026, 1, 15), loans=[
        loan_row(f"T{k}", principal=f"{rnd.randint(1000, 20000)}.{rnd.randint(0, 99):02d}",
                 rate=rnd.choice(["0.12", "0.18", "0.2388"]),
                 term=0 if m == "DAILY" else rnd.randint(2, 8), method=m,
                 first_due="" if m == "DAILY" else "2026-02-15")
        for k, m in enumerate(methods)])
    txn = 0
    for day in DAYS:
        rows = []
        for k in range(n):
            what = rnd.random()
            if what < 0.35:
                continue  # nothing paid: the loan falls overdue
            txn += 1
            paid_on = day - timedelta(days=rnd.choice([0, 0, 1, 2]))
            amount = D(rnd.randint(100, 300000)) / 100
            rows.append(pay_row(f"P{txn}", f"T{k}", paid_on, str(amount),
                                kind=rnd.choice(KINDS)))
        settle(day, repayments=rows)
    partner = Partner.objects.get(code="ALPHA")
    ids = [r[0] for r in _fetch("SELECT id FROM lending_loan WHERE partner_id = %s",
                                [partner.pk])]
    cache = _TermsCache()
    checked = 0
    for offset in range(1, 121):
        d = DAYS[-1] + timedelta(days=offset)
        touched = {r[0] for r in _fetch(_TOUCHED, {"p": partner.pk, "d": d, "lo": min(ids),
                                                  "hi": max(ids), "run": -1})}
        quiet = [i for i in ids if i not in touched]
        if not quiet:
            continue
        states, meta = _load_state(quiet, d)
        for lid, loan in states.items():
            version_id, rate, method = meta[lid]
            terms = cache.terms(loan.program_id, version_id, rate, method)
            before = _snapshot(loan)
            result = loan_day(loan, terms, d, [])
            assert not result.movements and result.claim_raised is None, (lid, d, result)
            assert _snapshot(loan) == before, (lid, d)
            checked += 1
    assert checked > 100  # quiet loans on many days
