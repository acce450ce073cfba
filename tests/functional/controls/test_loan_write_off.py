"""Issue 21, four eyes for a loan's write-off ordered by staff: the admin action on the loans
asks for a reason (and an effective business day) and submits a `LOAN_WRITE_OFF` request;
only a second person with the approver role orders the write-off (golden figures of the run
that then writes the loan off: tests/golden/test_golden_staff_write_off.py)."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from controls import requests as change_requests
from controls.models import ChangeRequest, RequestKind, RequestStatus
from lending.models import Loan
from tests.factories import browser as fb
from tests.functional.controls.helpers import role_user

pytestmark = pytest.mark.django_db

DAY = date(2026, 1, 15)
LOANS = "admin:lending_loan_changelist"


def _act(client, *loans, **extra):
    return client.post(reverse(LOANS), {"action": "request_write_off",
                                        ACTION_CHECKBOX_NAME: [x.pk for x in loans], **extra},
                       follow=True)


def test_the_action_asks_why_then_submits_a_request_only_an_approver_applies(as_user):
    fb.settled_day(DAY)
    loan = Loan.objects.get(loan_no="LN-DAY-1")
    maker, checker = role_user("olga", "operator"), role_user("abe", "approver")
    page = _act(as_user(maker), loan)  # the intermediate page: the reason is required
    assert page.status_code == 200 and b'name="note"' in page.content
    done = _act(as_user(maker), loan, apply="1", note="fraud confirmed by the platform",
                effective_on="2026-01-16")
    assert "is written off when an approver approves it" in " ".join(
        str(m) for m in done.context["messages"])
    req = ChangeRequest.objects.get(kind=RequestKind.LOAN_WRITE_OFF, target_id=loan.pk)
    assert (req.status, req.payload) == (RequestStatus.PENDING_APPROVAL, {
        "note": "fraud confirmed by the platform", "effective_on": "2026-01-16"})
    assert Loan.objects.get(pk=loan.pk).write_off_ordered_on is None
    with pytest.raises(change_requests.RequestError):  # not by the maker
        change_requests.request_approve(req=req, by=maker)
    change_requests.request_approve(req=req, by=checker)
    assert Loan.objects.get(pk=loan.pk).write_off_ordered_on == date(2026, 1, 16)


def test_a_user_without_the_request_permission_gets_403(as_user):
    fb.settled_day(DAY)
    loan = Loan.objects.get(loan_no="LN-DAY-1")
    resp = _act(as_user(role_user("aud", "auditor")), loan, apply="1", note="x")
    assert resp.status_code == 403
    assert not ChangeRequest.objects.filter(kind=RequestKind.LOAN_WRITE_OFF).exists()
