"""Four eyes on the limits' effective-dated rows (controls.requests.limit_rows): a threshold or
a bank figure is entered or changed only when a second person with the approver role approves
it; self- and editor-approval refused; an edit after submission clears approvals; rejection
recorded; a bad row is refused at submission and again at approval, writing nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from controls import limits
from controls import requests as cr
from controls.models import ChangeRequest, LimitBankFigure, LimitThreshold, RequestKind
from tests.functional.controls.helpers import role_user

pytestmark = pytest.mark.django_db

NEW_THRESHOLD = {"code": "PARTNER_CAPITAL", "threshold": "0.2000", "warning_level": "0.8000",
                 "effective_from": "2030-01-01", "note": "regulator's letter"}


def _figure(amount="1000000.00", day=date(2026, 1, 1)) -> LimitBankFigure:
    return LimitBankFigure.objects.create(figure="NET_TIER1_CAPITAL", amount=Decimal(amount),
                                          effective_from=day)


def test_a_new_threshold_takes_effect_only_when_a_second_approver_approves():
    maker, approver = role_user("rita", "risk"), role_user("ann", "approver")
    req = cr.request_create(kind=RequestKind.LIMIT_THRESHOLD, target_id=0,
                            payload=NEW_THRESHOLD, note="lowered", by=maker)
    assert req.status == "PENDING_APPROVAL"
    assert limits.threshold_on("PARTNER_CAPITAL", date(2030, 1, 1)).threshold == Decimal("0.25")

    with pytest.raises(cr.RequestError, match="another person must approve"):
        cr.request_approve(req=req, by=maker)
    with pytest.raises(cr.RequestError, match="does not hold the approver role"):
        cr.request_approve(req=req, by=role_user("rob", "risk"))
    assert not LimitThreshold.objects.filter(effective_from=date(2030, 1, 1)).exists()

    req = cr.request_approve(req=req, by=approver)
    t = limits.threshold_on("PARTNER_CAPITAL", date(2030, 1, 1))
    assert (t.threshold, t.warning_at, t.effective_from) == (
        Decimal("0.2"), Decimal("0.16"), date(2030, 1, 1))
    assert limits.threshold_on("PARTNER_CAPITAL", date(2029, 12, 31)).threshold == Decimal("0.25")
    assert (req.status, req.decided_by) == ("APPROVED", approver)
    assert req.applied_result.startswith("PARTNER_CAPITAL 0.2000 from 2030-01-01 entered")
    with pytest.raises(cr.RequestError, match="approved and applied"):
        cr.request_edit(req=req, by=maker, payload={**NEW_THRESHOLD, "threshold": "0.1"})


def test_a_figure_change_edited_after_submission_goes_back_to_draft_and_bars_the_editor():
    figure = _figure()
    maker, editor = role_user("rita", "risk"), role_user("eve", "risk", "approver")
    req = cr.request_create(kind=RequestKind.LIMIT_BANK_FIGURE, target_id=figure.pk,
                            payload={"amount": "1200000.00"}, note="restated", by=maker)
    req = cr.request_edit(req=req, by=editor, payload={"amount": "9900000.00"})
    assert (req.status, req.submitted_at, req.editor_ids) == ("DRAFT", None, [editor.pk])
    with pytest.raises(cr.RequestError, match="not pending approval"):
        cr.request_approve(req=req, by=role_user("ann", "approver"))
    cr.request_submit(req=req, by=maker)
    with pytest.raises(cr.RequestError, match="edited by eve"):
        cr.request_approve(req=req, by=editor)
    figure.refresh_from_db()
    assert figure.amount == Decimal("1000000.00")

    approver = role_user("ann2", "approver")
    with pytest.raises(cr.RequestError, match="needs a reason"):
        cr.request_reject(req=req, by=approver, reason="  ")
    cr.request_reject(req=req, by=approver, reason="the restatement is not signed off")
    req.refresh_from_db()
    figure.refresh_from_db()
    assert (req.status, req.rejection_reason, req.decided_by, figure.amount) == (
        "REJECTED", "the restatement is not signed off", approver, Decimal("1000000.00"))
    assert limits.figure_on("NET_TIER1_CAPITAL", date(2026, 6, 1)) == Decimal("1000000.00")


def test_an_approved_figure_change_is_what_the_limits_read():
    figure = _figure()
    maker, approver = role_user("rita", "risk"), role_user("ann", "approver")
    req = cr.request_create(kind=RequestKind.LIMIT_BANK_FIGURE, target_id=figure.pk,
                            payload={"amount": "1200000.00"}, note="restated", by=maker)
    assert limits.figure_on("NET_TIER1_CAPITAL", date(2026, 6, 1)) == Decimal("1000000.00")
    req = cr.request_approve(req=req, by=approver)
    assert limits.figure_on("NET_TIER1_CAPITAL", date(2026, 6, 1)) == Decimal("1200000.00")
    assert req.applied_result.endswith("changed: amount")


@pytest.mark.parametrize(("kind", "target", "payload", "error"), [
    ("LIMIT_THRESHOLD", "new", {**NEW_THRESHOLD, "effective_from": "2000-01-01"},
     "already exists"),  # the seeded row of that code and day
    ("LIMIT_THRESHOLD", "new", {**NEW_THRESHOLD, "warning_level": "1.5"},
     "limit_threshold_warning_level_range"),
    ("LIMIT_THRESHOLD", "new", {**NEW_THRESHOLD, "threshold": "0"}, "limit_threshold_positive"),
    ("LIMIT_THRESHOLD", "new", {**NEW_THRESHOLD, "threshold": "a lot"}, "threshold:"),
    ("LIMIT_THRESHOLD", "new", {**NEW_THRESHOLD, "code": "R9"}, "not a valid choice"),
    ("LIMIT_THRESHOLD", "new", {**NEW_THRESHOLD, "colour": "red"}, "not a field"),
    ("LIMIT_THRESHOLD", "new", {}, "nothing to enter or change"),
    ("LIMIT_THRESHOLD", "seeded", {"code": "BORROWER"}, "not a field a request may change"),
    ("LIMIT_THRESHOLD", 999999, {"threshold": "0.3"}, "does not exist"),
    ("LIMIT_BANK_FIGURE", "new", {"figure": "TOTAL_LOANS", "amount": "-5",
                                  "effective_from": "2026-01-01"}, "limit_bank_figure_positive"),
    ("LIMIT_BANK_FIGURE", "new", {"figure": "TOTAL_LOANS", "amount": "5"},
     "effective_from"),
])
def test_a_bad_row_is_refused_at_submission_and_nothing_is_written(kind, target, payload, error):
    seeded = LimitThreshold.objects.get(code="PARTNER_CAPITAL")
    target_id = {"new": 0, "seeded": seeded.pk}.get(target, target)
    before = (LimitThreshold.objects.count(), LimitBankFigure.objects.count())
    with pytest.raises(cr.RequestError, match=error):
        cr.request_create(kind=kind, target_id=target_id, payload=payload, note="",
                          by=role_user("rita", "risk"))
    assert not ChangeRequest.objects.exists()
    assert (LimitThreshold.objects.count(), LimitBankFigure.objects.count()) == before


def test_new_rows_may_wait_side_by_side_but_the_second_of_one_day_is_refused_at_approval():
    maker, approver = role_user("rita", "risk"), role_user("ann", "approver")
    first = cr.request_create(kind=RequestKind.LIMIT_THRESHOLD, target_id=0,
                              payload=NEW_THRESHOLD, note="", by=maker)
    second = cr.request_create(kind=RequestKind.LIMIT_THRESHOLD, target_id=0,
                               payload={**NEW_THRESHOLD, "threshold": "0.2200"}, note="",
                               by=maker)
    cr.request_approve(req=first, by=approver)
    with pytest.raises(cr.RequestError, match="already exists"):
        cr.request_approve(req=second, by=approver)
    second.refresh_from_db()
    assert second.status == "PENDING_APPROVAL"
    assert LimitThreshold.objects.get(code="PARTNER_CAPITAL",
                                      effective_from=date(2030, 1, 1)).threshold == Decimal("0.2")

    figure = _figure()
    cr.request_create(kind=RequestKind.LIMIT_BANK_FIGURE, target_id=figure.pk,
                      payload={"amount": "2.00"}, note="", by=maker)
    with pytest.raises(cr.RequestError, match="still open"):
        cr.request_create(kind=RequestKind.LIMIT_BANK_FIGURE, target_id=figure.pk,
                          payload={"amount": "3.00"}, note="", by=maker)
