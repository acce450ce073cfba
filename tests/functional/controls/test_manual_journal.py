"""Issue 21, four eyes for manual journal entries.

Finance drafts a manual journal on the admin page (controls.admin.ChangeRequestAdmin
.manual_journal_view); it is a `MANUAL_JOURNAL` change request, posted to the ledger through
its service (ledger.services.journal_entries_post) only when a second person with the
approver role approves it, exactly once. Every refusal is a form error or an admin message,
never a 500.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Sum
from django.urls import reverse

from controls import requests as change_requests
from controls.models import ChangeRequest, RequestKind, RequestStatus
from ledger.domain import chart
from ledger.models import JournalEntry, JournalLine
from ledger.services import chart_of_accounts_load, period_close
from tests.functional.controls.helpers import role_user

pytestmark = pytest.mark.django_db

PAGE = "admin:controls_changerequest_manual_journal"
REQUESTS = "admin:controls_changerequest_changelist"
DAY = "2026-03-16"
LINES = f"{chart.LOSS_ALLOWANCE}, 250.00, 0\n{chart.LOANS_RECEIVABLE}, 0, 250.00, P1"


@pytest.fixture(autouse=True)
def _chart():
    chart_of_accounts_load()  # a transactional test elsewhere may have flushed the migration's


def _form(**overrides) -> dict:
    return {"book": chart.BANK_GL, "business_date": DAY, "memo": "allowance correction",
            "lines": LINES, **overrides}


def _act(client, action, *reqs, **extra):
    return client.post(reverse(REQUESTS), {"action": action,
                                           ACTION_CHECKBOX_NAME: [r.pk for r in reqs], **extra},
                       follow=True)


def _messages(resp) -> str:
    return " | ".join(str(m) for m in resp.context["messages"])


def _manual_entries():
    return JournalEntry.objects.filter(purpose=change_requests.MANUAL_PURPOSE)


def _submitted(as_user, maker) -> ChangeRequest:
    resp = as_user(maker).post(reverse(PAGE), _form(), follow=True)
    assert resp.status_code == 200, resp.content[:2000]
    assert "is posted when a second person with the approver role approves it" in \
        _messages(resp)
    return ChangeRequest.objects.get(kind=RequestKind.MANUAL_JOURNAL)


def test_approval_by_a_second_person_posts_the_balanced_entry_once(as_user):
    maker, checker = role_user("fiona", "finance"), role_user("abe", "approver")
    req = _submitted(as_user, maker)
    assert req.status == RequestStatus.PENDING_APPROVAL and req.created_by == maker
    assert req.payload["lines"][1] == {"account": chart.LOANS_RECEIVABLE, "debit": "0",
                                       "credit": "250.00", "program": "P1"}
    assert not _manual_entries().exists()  # nothing posted before the approval

    resp = _act(as_user(checker), "approve_requests", req)
    assert "approved and applied" in _messages(resp)
    req.refresh_from_db()
    entry = _manual_entries().get()
    assert req.status == RequestStatus.APPROVED and req.decided_by == checker
    assert entry.idempotency_key == f"manual:{req.pk}" and entry.book.code == chart.BANK_GL
    assert entry.business_date == date(2026, 3, 16) and entry.memo == "allowance correction"
    assert f"journal entry {entry.pk} posted to BANK_GL" in req.applied_result
    lines = JournalLine.objects.filter(entry=entry)
    totals = lines.aggregate(d=Sum("debit"), c=Sum("credit"))
    assert totals == {"d": Decimal("250.00"), "c": Decimal("250.00")}
    assert sorted(lines.values_list("account__code", "debit", "credit", "program")) == [
        (chart.LOANS_RECEIVABLE, Decimal("0"), Decimal("250.00"), "P1"),
        (chart.LOSS_ALLOWANCE, Decimal("250.00"), Decimal("0"), ""),
    ]

    # exactly once: a second approval is refused, and so is applying it again
    resp = _act(as_user(checker), "approve_requests", req)
    assert "is APPROVED, not pending approval" in _messages(resp)
    with pytest.raises(change_requests.RequestError, match="already posted"):
        change_requests.HANDLERS[RequestKind.MANUAL_JOURNAL].apply(req)
    assert _manual_entries().count() == 1 and lines.count() == 2


def test_the_maker_cannot_approve_their_own_journal(as_user):
    # a person holding both roles drafts it: the admin's approve refuses, nothing is posted
    both = role_user("bea", "finance", "approver")
    req = _submitted(as_user, both)
    resp = _act(as_user(both), "approve_requests", req)
    assert "another person must approve" in _messages(resp)
    with pytest.raises(change_requests.RequestError, match="another person must approve"):
        change_requests.request_approve(req=req, by=both)
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING_APPROVAL and req.decided_by is None
    assert not _manual_entries().exists()


def test_an_editor_cannot_approve_and_an_edit_sends_it_back_to_draft(as_user):
    maker, editor = role_user("fiona", "finance"), role_user("eve", "finance", "approver")
    req = _submitted(as_user, maker)
    change_requests.request_edit(req=req, by=editor, payload={**req.payload, "memo": "edited"})
    req.refresh_from_db()
    assert req.status == RequestStatus.DRAFT and editor.pk in req.editor_ids
    change_requests.request_submit(req=req, by=maker)
    with pytest.raises(change_requests.RequestError, match="edited by eve"):
        change_requests.request_approve(req=req, by=editor)
    assert not _manual_entries().exists()


@pytest.mark.parametrize("roles", [("auditor",), ("approver",), ("operator",), ("risk",)])
def test_who_may_not_draft_a_manual_journal_gets_403(as_user, roles):
    """View-only (auditor), approver, operator and risk may not draft one."""
    client = as_user(role_user("vic", *roles))
    assert client.get(reverse(PAGE)).status_code == 403
    assert client.post(reverse(PAGE), _form()).status_code == 403
    assert not ChangeRequest.objects.exists()


def test_a_view_only_user_cannot_approve_or_reject(as_user):
    req = _submitted(as_user, role_user("fiona", "finance"))
    viewer = as_user(role_user("audrey", "auditor"))
    assert viewer.get(reverse(REQUESTS)).status_code == 200  # may read the requests
    for action in ("approve_requests", "reject_requests"):
        resp = _act(viewer, action, req, reason="no", apply="1")
        assert resp.status_code == 403
    change = reverse("admin:controls_changerequest_change", args=[req.pk])
    assert viewer.post(change, {"note": "x", "payload": "{}"}).status_code == 403
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING_APPROVAL and not _manual_entries().exists()


def test_a_rejection_needs_a_reason(as_user):
    req = _submitted(as_user, role_user("fiona", "finance"))
    checker = as_user(role_user("abe", "approver"))
    page = _act(checker, "reject_requests", req)
    assert page.status_code == 200 and b'name="reason"' in page.content  # asks for it
    resp = _act(checker, "reject_requests", req, reason="   ", apply="1")
    assert "a rejection needs a reason" in _messages(resp)
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING_APPROVAL
    resp = _act(checker, "reject_requests", req, reason="wrong account", apply="1")
    req.refresh_from_db()
    assert req.status == RequestStatus.REJECTED and req.rejection_reason == "wrong account"
    assert not _manual_entries().exists()


@pytest.mark.parametrize(("overrides", "message"), [
    ({"lines": f"{chart.LOSS_ALLOWANCE}, 250.00, 0\n{chart.LOANS_RECEIVABLE}, 0, 249.99"},
     "does not balance"),
    ({"lines": f"{chart.LOSS_ALLOWANCE}, 250.00, 0"}, "at least two lines"),
    ({"lines": f"9999, 250.00, 0\n{chart.LOANS_RECEIVABLE}, 0, 250.00"},
     "account &#x27;9999&#x27; is unknown in BANK_GL"),
    ({"lines": f"{chart.LOSS_ALLOWANCE}, 250.00, 5\n{chart.LOANS_RECEIVABLE}, 0, 245"},
     "one of them only"),
    ({"lines": f"{chart.LOSS_ALLOWANCE}, -250.00, 0\n{chart.LOANS_RECEIVABLE}, 0, -250"},
     "must be 0 or more"),
    ({"lines": f"{chart.LOSS_ALLOWANCE}, 1e400, 0\n{chart.LOANS_RECEIVABLE}, 0, 1e400"},
     "must be 0 or more"),
    ({"lines": f"{chart.LOSS_ALLOWANCE}, abc, 0\n{chart.LOANS_RECEIVABLE}, 0, 250"},
     "is not an amount"),
    ({"lines": "just-one-cell"}, "row 1: account, debit, credit"),
    ({"book": "NO_SUCH_BOOK"}, "book &#x27;NO_SUCH_BOOK&#x27; does not exist"),
    ({"business_date": "2026-02-30"}, "Enter a valid date"),
])
def test_every_bad_journal_is_a_form_error_never_a_500(as_user, overrides, message):
    client = as_user(role_user("fiona", "finance"))
    resp = client.post(reverse(PAGE), _form(**overrides))
    assert resp.status_code == 200
    assert message in resp.content.decode()
    assert not ChangeRequest.objects.exists() and not _manual_entries().exists()


def test_a_journal_into_a_closed_period_is_refused_on_the_form(as_user):
    period_close(book=chart.BANK_GL, period=date(2026, 1, 1))
    period_close(book=chart.BANK_GL, period=date(2026, 2, 1))
    period_close(book=chart.BANK_GL, period=date(2026, 3, 1))
    resp = as_user(role_user("fiona", "finance")).post(reverse(PAGE), _form())
    assert resp.status_code == 200
    assert "is in a closed period of BANK_GL (closed through 2026-03)" in resp.content.decode()
    assert not ChangeRequest.objects.exists()


def test_a_period_closed_after_submission_is_an_admin_message_on_approval(as_user):
    req = _submitted(as_user, role_user("fiona", "finance"))
    for month in (1, 2, 3):
        period_close(book=chart.BANK_GL, period=date(2026, month, 1))
    resp = _act(as_user(role_user("abe", "approver")), "approve_requests", req)
    assert resp.status_code == 200 and "closed period" in _messages(resp)
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING_APPROVAL and not _manual_entries().exists()
