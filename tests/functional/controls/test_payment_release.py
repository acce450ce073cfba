"""Issue 21, four eyes for the release of a day's settlement payment.

Finance requests the release of a statement's payment (admin action on the statements,
controls.admin.StatementReleaseAdmin); it is a `PAYMENT_RELEASE` change request, and the
payment is released (a `PaymentRelease` row, append-only) only when a second person with the
approver role approves it — once per statement, only for a DONE run's figures, for exactly the
amount the maker saw.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.urls import reverse

from controls import requests as change_requests
from controls.models import ChangeRequest, PaymentRelease, RequestKind, RequestStatus
from lending.models import Statement
from tests.factories import browser as fb
from tests.functional.controls.helpers import role_user

pytestmark = pytest.mark.django_db

DAY = date(2026, 1, 15)
STATEMENTS = "admin:lending_statement_changelist"
REQUESTS = "admin:controls_changerequest_changelist"


@pytest.fixture
def statement():
    fb.settled_day(DAY)
    found = Statement.objects.exclude(net_amount=0).order_by("pk").first()
    assert found is not None and not found.provisional
    return found


def _act(client, url, action, *objs, **extra):
    return client.post(reverse(url), {"action": action,
                                      ACTION_CHECKBOX_NAME: [o.pk for o in objs], **extra},
                       follow=True)


def _messages(resp) -> str:
    return " | ".join(str(m) for m in resp.context["messages"])


def _requested(as_user, maker, statement) -> ChangeRequest:
    resp = _act(as_user(maker), STATEMENTS, "request_payment_release", statement)
    assert "is released when an approver approves it" in _messages(resp), _messages(resp)
    return ChangeRequest.objects.get(kind=RequestKind.PAYMENT_RELEASE, target_id=statement.pk)


def test_the_payment_is_released_only_by_a_second_person_once(as_user, statement):
    maker, checker = role_user("fiona", "finance"), role_user("abe", "approver")
    req = _requested(as_user, maker, statement)
    assert req.status == RequestStatus.PENDING_APPROVAL
    assert req.payload == {"amount": str(statement.net_amount)}
    assert not PaymentRelease.objects.exists()
    listing = as_user(maker).get(reverse(STATEMENTS))
    assert b"not released" in listing.content

    resp = _act(as_user(checker), REQUESTS, "approve_requests", req)
    assert "approved and applied" in _messages(resp)
    release = PaymentRelease.objects.get()
    assert (release.statement, release.amount, release.requested_by, release.released_by) == (
        statement, statement.net_amount, maker, checker)
    req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED
    assert f"payment of {abs(statement.net_amount)} CNY for 2026-01-15 released" in \
        req.applied_result
    assert b"released 20" in as_user(maker).get(reverse(STATEMENTS)).content

    # once: a second request for the same statement is refused, and so is a second approval
    resp = _act(as_user(maker), STATEMENTS, "request_payment_release", statement)
    assert "is already released" in _messages(resp)
    resp = _act(as_user(checker), REQUESTS, "approve_requests", req)
    assert "is APPROVED, not pending approval" in _messages(resp)
    assert PaymentRelease.objects.count() == 1


def test_the_maker_cannot_release_their_own_request(as_user, statement):
    both = role_user("bea", "finance", "approver")
    req = _requested(as_user, both, statement)
    resp = _act(as_user(both), REQUESTS, "approve_requests", req)
    assert "another person must approve" in _messages(resp)
    assert not PaymentRelease.objects.exists()
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING_APPROVAL


@pytest.mark.parametrize("roles", [("auditor",), ("approver",), ("operator",), ("risk",)])
def test_who_may_not_request_a_release_gets_403(as_user, statement, roles):
    client = as_user(role_user("vic", *roles))
    resp = _act(client, STATEMENTS, "request_payment_release", statement)
    assert resp.status_code == 403
    assert not ChangeRequest.objects.exists()


def test_a_rejection_needs_a_reason_and_releases_nothing(as_user, statement):
    req = _requested(as_user, role_user("fiona", "finance"), statement)
    checker = as_user(role_user("abe", "approver"))
    resp = _act(checker, REQUESTS, "reject_requests", req, reason="", apply="1")
    assert "a rejection needs a reason" in _messages(resp)
    _act(checker, REQUESTS, "reject_requests", req, reason="bank holiday abroad", apply="1")
    req.refresh_from_db()
    assert req.status == RequestStatus.REJECTED and not PaymentRelease.objects.exists()


def test_provisional_figures_are_not_released(as_user, statement):
    statement.run.__class__.objects.filter(pk=statement.run_id).update(state="FAILED")
    resp = _act(as_user(role_user("fiona", "finance")), STATEMENTS, "request_payment_release",
                statement)
    assert resp.status_code == 200 and "is provisional" in _messages(resp)
    assert not ChangeRequest.objects.exists()


def test_a_changed_amount_or_a_run_gone_provisional_is_refused_at_approval(as_user, statement):
    req = _requested(as_user, role_user("fiona", "finance"), statement)
    change_requests.request_edit(req=req, by=req.created_by, payload={"amount": "1.00"})
    with pytest.raises(change_requests.RequestError, match="draft a new request"):
        change_requests.request_submit(req=req, by=req.created_by)
    change_requests.request_edit(req=req, by=req.created_by,
                                 payload={"amount": str(statement.net_amount)})
    change_requests.request_submit(req=req, by=req.created_by)
    statement.run.__class__.objects.filter(pk=statement.run_id).update(state="RUNNING")
    resp = _act(as_user(role_user("abe", "approver")), REQUESTS, "approve_requests", req)
    assert resp.status_code == 200 and "is provisional" in _messages(resp)
    assert not PaymentRelease.objects.exists()


def test_a_release_is_append_only_for_the_application(as_user, statement):
    req = _requested(as_user, role_user("fiona", "finance"), statement)
    change_requests.request_approve(req=req, by=role_user("abe", "approver"))
    for sql in ("UPDATE controls_paymentrelease SET amount = amount + 1",
                "DELETE FROM controls_paymentrelease"):
        with pytest.raises(ProgrammingError, match="permission denied"), transaction.atomic():
            with connection.cursor() as cur:
                cur.execute(sql)
    with pytest.raises(IntegrityError, match="payment_release_four_eyes"), transaction.atomic():
        PaymentRelease.objects.create(statement=statement, amount=1, currency="CNY",
                                      request=req, requested_by=req.created_by,
                                      released_by=req.created_by)
    assert PaymentRelease.objects.count() == 1
