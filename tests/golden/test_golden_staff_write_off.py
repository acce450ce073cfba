"""A loan written off by staff (核销 before the program's threshold), issue 21: a request that a
second person with the approver role approves; the run of its effective business day writes the
loan off, every share's balances as WRITE_OFF movements, like a write-off at the threshold.

ALPHA's golden program CASH (no write-off threshold): 10,000.00 at 18 %, 12 × 916.80,
disbursed 2026-01-15; instalment 1 paid (766.80 principal), instalment 2 (due 03-15) not.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from controls import requests as change_requests
from controls.models import RequestKind, RequestStatus
from ledger.domain import chart
from lending.models import Loan
from tests.functional.controls.helpers import role_user
from tests.golden.helpers import gl, journal, loan_row, movements, pay_row, settle, shares

pytestmark = pytest.mark.django_db

D0, D1 = date(2026, 1, 15), date(2026, 2, 15)
MON, TUE, WED = date(2026, 3, 16), date(2026, 3, 17), date(2026, 3, 18)


def _overdue_loan():
    settle(D0, loans=[loan_row("S1")])
    settle(D1, repayments=[pay_row("T1", "S1", D1, "916.80")])
    settle(MON)  # instalment 2 (due Sunday 03-15) unpaid: DPD 1
    return Loan.objects.get(loan_no="S1")


def test_a_staff_write_off_takes_effect_in_the_run_of_its_day_after_approval(golden):
    loan = _overdue_loan()
    maker, checker = role_user("op", "operator"), role_user("appr", "approver")
    req = change_requests.request_create(
        kind=RequestKind.LOAN_WRITE_OFF, target_id=loan.pk,
        payload={"note": "borrower deceased, estate insolvent", "effective_on": "2026-03-18"},
        note="estate insolvent", by=maker)
    assert req.status == RequestStatus.PENDING_APPROVAL
    # The maker cannot approve it; nothing is ordered until a second person does.
    with pytest.raises(change_requests.RequestError):
        change_requests.request_approve(req=req, by=maker)
    assert Loan.objects.get(pk=loan.pk).write_off_ordered_on is None
    change_requests.request_approve(req=req, by=checker)
    assert Loan.objects.get(pk=loan.pk).write_off_ordered_on == WED
    # Tuesday's run is before the effective day: the loan is serviced as before.
    settle(TUE)
    assert Loan.objects.get(pk=loan.pk).state == "OVERDUE"
    settle(WED)
    loan = Loan.objects.get(pk=loan.pk)
    assert (loan.state, loan.written_off_on, loan.dpd) == ("WRITTEN_OFF", WED, 3)
    # Principal after instalment 1: 10,000.00 − 766.80 = 9,233.20, bank 7,000.00 − 536.76 =
    # 6,463.24, ALPHA 3,000.00 − 230.04 = 2,769.96; interest and penalty crystallised and
    # written off with it; every share is empty and the bank's loans receivable is zero.
    m = movements("S1", WED)
    assert m[("BANK", "WRITE_OFF", "PRINCIPAL")] == D("6463.24")
    assert m[("ALPHA", "WRITE_OFF", "PRINCIPAL")] == D("2769.96")
    assert m[("BANK", "WRITE_OFF", "INTEREST")] > 0
    assert shares("S1") == {"BANK": (0, 0, 0), "ALPHA": (0, 0, 0)}
    assert gl(chart.LOANS_RECEIVABLE, WED) == 0
    j = journal(WED)  # Dr loss allowance / Cr loans, as at the program's threshold
    assert j[("WRITE_OFF", chart.LOSS_ALLOWANCE)] == (D("6463.24"), 0)
    assert j[("WRITE_OFF", chart.LOANS_RECEIVABLE)] == (0, D("6463.24"))


def test_a_write_off_request_is_refused_for_a_settled_day_a_closed_loan_or_no_reason(golden):
    loan = _overdue_loan()
    maker = role_user("op", "operator")
    for payload, says in (
            ({"note": "insolvent", "effective_on": "2026-03-16"}, "settled up to 2026-03-16"),
            ({"note": "  "}, "needs a note"),
            ({"note": "x", "effective_on": "16/03/2026"}, "is not a date"),
            ({"note": "x", "amount": "1"}, "needs a note saying why")):
        with pytest.raises(change_requests.RequestError, match=says):
            change_requests.request_create(kind=RequestKind.LOAN_WRITE_OFF, target_id=loan.pk,
                                           payload=payload, note="", by=maker)
    Loan.objects.filter(pk=loan.pk).update(state="PAID_OFF")
    with pytest.raises(change_requests.RequestError, match="only an open loan"):
        change_requests.request_create(kind=RequestKind.LOAN_WRITE_OFF, target_id=loan.pk,
                                       payload={"note": "x"}, note="", by=maker)


def test_reversing_a_payment_of_before_a_staff_write_off_writes_off_what_it_had_paid(golden):
    # T1 (instalment 1, 02-15) is reversed the day after the staff write-off (a chargeback).
    # A write-off ordered by staff is not replayed (the order is of its own day): the loan is
    # restored in place, and what T1 had paid — 766.80 principal, 150.00 interest — is owed
    # again and written off with the loan, that day; before, it stood as outstanding on a
    # written-off loan, in the bank's loans receivable.
    loan = _overdue_loan()
    req = change_requests.request_create(
        kind=RequestKind.LOAN_WRITE_OFF, target_id=loan.pk,
        payload={"note": "estate insolvent", "effective_on": "2026-03-18"},
        note="estate insolvent", by=role_user("op", "operator"))
    change_requests.request_approve(req=req, by=role_user("appr", "approver"))
    settle(TUE)
    settle(WED)
    thu = date(2026, 3, 19)
    settle(thu, reversals=[("V1", "T1", thu, "916.80", "chargeback")])
    loan = Loan.objects.get(pk=loan.pk)
    assert (loan.state, loan.written_off_on, loan.dpd) == ("WRITTEN_OFF", WED, 3)
    assert shares("S1") == {"BANK": (0, 0, 0), "ALPHA": (0, 0, 0)}
    m = movements("S1", thu)
    assert (m[("BANK", "WRITE_OFF", "PRINCIPAL")], m[("ALPHA", "WRITE_OFF", "PRINCIPAL")],
            m[("BANK", "WRITE_OFF", "INTEREST")], m[("ALPHA", "WRITE_OFF", "INTEREST")]) == (
        D("536.76"), D("230.04"), D("105.00"), D("45.00"))
    assert gl(chart.LOANS_RECEIVABLE, thu) == 0
    assert gl(chart.INTEREST_RECEIVABLE, thu) == 0
    j = journal(thu)
    assert j[("WRITE_OFF", chart.LOANS_RECEIVABLE)] == (0, D("536.76"))
