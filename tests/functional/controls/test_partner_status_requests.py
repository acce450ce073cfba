"""Issue 21, finding 3: a partner's status changes only through a four-eyes request.

Risk requests (admin action *Request a status change*), a second person with the approver
role approves, and only then does the status change; the form never edits it; the maker
cannot approve; termination is final.
"""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from controls import requests as change_requests
from controls.models import ChangeRequest, RequestKind, RequestStatus
from partners.models import Partner
from tests.factories import lending as f
from tests.functional.controls.helpers import admin_form_data, role_user

pytestmark = pytest.mark.django_db

PARTNERS = "admin:partners_partner_changelist"
REQUESTS = "admin:controls_changerequest_changelist"


def _act(client, url, action, *objs, **extra):
    return client.post(reverse(url), {"action": action,
                                      ACTION_CHECKBOX_NAME: [o.pk for o in objs], **extra},
                       follow=True)


def _messages(resp) -> str:
    return " | ".join(str(m) for m in resp.context["messages"])


def test_suspension_takes_effect_only_when_a_second_person_approves(as_user):
    alpha = f.partner("ALPHA")
    maker, checker = role_user("rita", "risk"), role_user("abe", "approver")
    rita = as_user(maker)
    page = _act(rita, PARTNERS, "request_status_change", alpha)  # the form page first
    assert page.status_code == 200 and b'name="status"' in page.content
    resp = _act(rita, PARTNERS, "request_status_change", alpha, status="SUSPENDED",
                note="overdue audit report", apply="1")
    assert "becomes SUSPENDED when an approver approves it" in _messages(resp)
    req = ChangeRequest.objects.get(kind=RequestKind.PARTNER_STATUS, target_id=alpha.pk)
    assert req.status == RequestStatus.PENDING_APPROVAL and req.payload == {"status": "SUSPENDED"}
    alpha.refresh_from_db()
    assert alpha.status == "ACTIVE"  # nothing yet

    with pytest.raises(change_requests.RequestError, match="another person must approve"):
        change_requests.request_approve(req=req, by=maker)
    alpha.refresh_from_db()
    assert alpha.status == "ACTIVE"

    resp = _act(as_user(checker), REQUESTS, "approve_requests", req)
    assert "approved and applied" in _messages(resp)
    alpha.refresh_from_db()
    req.refresh_from_db()
    assert alpha.status == "SUSPENDED"
    assert req.decided_by == checker and req.applied_result == "partner ALPHA: ACTIVE → SUSPENDED"


def test_the_change_form_never_edits_the_status(as_user):
    alpha = f.partner("ALPHA")
    client = as_user(role_user("rita", "risk"))
    url = reverse("admin:partners_partner_change", args=[alpha.pk])
    page = client.get(url)
    assert "status" not in page.context["adminform"].form.fields  # shown read-only
    data = admin_form_data(page)
    data.update(status="TERMINATED", legal_name="ALPHA Platform Co")
    assert client.post(url, data).status_code == 302
    alpha.refresh_from_db()
    assert (alpha.legal_name, alpha.status) == ("ALPHA Platform Co", "ACTIVE")


def test_a_rejection_leaves_the_status_and_needs_a_reason():
    alpha = f.partner("ALPHA")
    maker, checker = role_user("rita", "risk"), role_user("abe", "approver")
    req = change_requests.request_create(kind=RequestKind.PARTNER_STATUS, target_id=alpha.pk,
                                         payload={"status": "TERMINATED"}, note="end", by=maker)
    with pytest.raises(change_requests.RequestError, match="needs a reason"):
        change_requests.request_reject(req=req, by=checker, reason=" ")
    change_requests.request_reject(req=req, by=checker, reason="contract still running")
    alpha.refresh_from_db()
    assert alpha.status == "ACTIVE"


def test_termination_is_final_and_requests_are_checked():
    alpha = f.partner("ALPHA", status="TERMINATED")
    maker = role_user("rita", "risk")
    for payload, error in (({"status": "ACTIVE"}, "termination is final"),
                           ({"status": "CLOSED"}, "is not a partner status"),
                           ({"status": "SUSPENDED", "legal_name": "x"}, "only the new status")):
        with pytest.raises(change_requests.RequestError, match=error):
            change_requests.request_create(kind=RequestKind.PARTNER_STATUS,
                                           target_id=alpha.pk, payload=payload, note="n",
                                           by=maker)
    bank = Partner.objects.get(kind="BANK")
    with pytest.raises(change_requests.RequestError, match="bank's own status"):
        change_requests.request_create(kind=RequestKind.PARTNER_STATUS, target_id=bank.pk,
                                       payload={"status": "SUSPENDED"}, note="n", by=maker)


def test_only_risk_may_request_a_status_change(as_user):
    alpha = f.partner("ALPHA")
    for role in ("operator", "finance", "approver", "auditor", "administrator"):
        resp = _act(as_user(role_user(f"u-{role}", role)), PARTNERS, "request_status_change",
                    alpha, status="SUSPENDED", note="x", apply="1")
        assert not ChangeRequest.objects.filter(target_id=alpha.pk).exists(), role
        assert resp.status_code in (200, 403)
    alpha.refresh_from_db()
    assert alpha.status == "ACTIVE"
