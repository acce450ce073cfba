"""The maker-checker rules in the services (controls.four_eyes, controls.requests,
lending.services): no effect until approved by another approver; self- and editor-approval
refused; an edit after submission clears approvals; rejection recorded; the database refuses
a request decided by its maker."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from controls import requests as cr
from controls.models import ChangeRequest, RequestKind
from lending import services
from lending.models import AgreementFunder, AgreementVersion
from tests.factories import browser as fb
from tests.factories import lending as f
from tests.functional.controls.helpers import role_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def program():
    return f.program(code="CASH", version=f.active_agreement(code="AG-A",
                                                             platform=f.partner("ALPHA")))


def test_program_request_has_no_effect_until_a_second_approver_approves(program):
    maker, approver = role_user("mia", "risk"), role_user("ann", "approver")
    req = cr.request_create(kind=RequestKind.PROGRAM_CHANGE, target_id=program.pk,
                            payload={"grace_days": 3}, note="align with partner", by=maker)
    program.refresh_from_db()
    assert (req.status, program.grace_days) == ("PENDING_APPROVAL", 0)

    with pytest.raises(cr.RequestError, match="another person must approve"):
        cr.request_approve(req=req, by=maker)
    plain = role_user("pat", "risk")
    with pytest.raises(cr.RequestError, match="does not hold the approver role"):
        cr.request_approve(req=req, by=plain)
    program.refresh_from_db()
    assert program.grace_days == 0

    cr.request_approve(req=req, by=approver)
    program.refresh_from_db()
    req.refresh_from_db()
    assert (program.grace_days, req.status, req.decided_by) == (3, "APPROVED", approver)
    with pytest.raises(cr.RequestError, match="approved and applied"):
        cr.request_edit(req=req, by=maker, payload={"grace_days": 5})


def test_an_edit_clears_the_approval_and_bars_the_editor(program):
    maker, editor = role_user("mia", "risk"), role_user("eve", "risk", "approver")
    req = cr.request_create(kind=RequestKind.PROGRAM_CHANGE, target_id=program.pk,
                            payload={"grace_days": 3}, note="", by=maker)
    req = cr.request_edit(req=req, by=editor, payload={"grace_days": 4})
    assert (req.status, req.submitted_at, req.editor_ids) == ("DRAFT", None, [editor.pk])
    with pytest.raises(cr.RequestError, match="not pending approval"):
        cr.request_approve(req=req, by=role_user("ann", "approver"))
    cr.request_submit(req=req, by=maker)
    with pytest.raises(cr.RequestError, match="edited by eve"):
        cr.request_approve(req=req, by=editor)
    with pytest.raises(cr.RequestError, match="edited by eve"):
        cr.request_reject(req=req, by=editor, reason="no")


def test_a_bad_payload_is_refused_at_submission_and_rejection_needs_a_reason(program):
    maker, approver = role_user("mia", "risk"), role_user("ann", "approver")
    with pytest.raises(cr.RequestError, match="not a field a request may change"):
        cr.request_create(kind=RequestKind.PROGRAM_CHANGE, target_id=program.pk,
                          payload={"code": "OTHER"}, note="", by=maker)
    with pytest.raises(cr.RequestError, match="program_max_term_range"):
        cr.request_create(kind=RequestKind.PROGRAM_CHANGE, target_id=program.pk,
                          payload={"max_term_months": 60}, note="", by=maker)
    assert not ChangeRequest.objects.exists()  # nothing half-made
    req = cr.request_create(kind=RequestKind.PROGRAM_CHANGE, target_id=program.pk,
                            payload={"grace_days": 2}, note="", by=maker)
    with pytest.raises(cr.RequestError, match="needs a reason"):
        cr.request_reject(req=req, by=approver, reason=" ")
    cr.request_reject(req=req, by=approver, reason="not agreed with the partner")
    req.refresh_from_db()
    assert (req.status, req.rejection_reason, req.decided_by) == (
        "REJECTED", "not agreed with the partner", approver)


def test_the_database_refuses_a_request_decided_by_its_maker(program):
    maker = role_user("mia", "risk")
    req = cr.request_create(kind=RequestKind.PROGRAM_CHANGE, target_id=program.pk,
                            payload={"grace_days": 2}, note="", by=maker)
    with pytest.raises(IntegrityError), transaction.atomic():
        ChangeRequest.objects.filter(pk=req.pk).update(status="APPROVED", decided_by=maker)
    with pytest.raises(IntegrityError), transaction.atomic():
        ChangeRequest.objects.filter(pk=req.pk).update(status="REJECTED", decided_by=None)


def test_agreement_version_terms_are_checked_again_at_approval():
    """A pending version whose funder ratio was changed behind the form (0.60 → 0.90) is
    refused at approval: the cap is checked on the terms as they are now."""
    active = f.active_agreement(code="AG-B", platform=f.partner("BETA"))
    maker, approver = role_user("mia", "risk"), role_user("ann", "approver")
    pending = fb.pending_version(agreement=active.agreement, maker=maker,
                                 effective_from=date(2025, 1, 1))
    with transaction.atomic():  # ratios still sum to 1 at commit
        AgreementFunder.objects.filter(version=pending, funder=f.bank()).update(
            principal_ratio=Decimal("0.90"))
        AgreementFunder.objects.filter(version=pending).exclude(funder=f.bank()).update(
            principal_ratio=Decimal("0.10"))
    with pytest.raises(services.AgreementError, match="0.7"):
        services.agreement_version_approve(version=pending, approved_by=approver,
                                           require_role=True)
    assert AgreementVersion.objects.get(pk=pending.pk).status == "PENDING_APPROVAL"


def test_the_agreement_services_require_the_approver_role_by_default():
    """Every caller of the service, not only the admin, needs an approver: a second staff user
    without the role can neither approve nor reject a pending version (helper scripts, the
    shell and future callers included); the approver can."""
    active = f.active_agreement(code="AG-C", platform=f.partner("GAMMA"))
    maker, plain = role_user("mia", "risk"), role_user("pat", "risk")
    pending = fb.pending_version(agreement=active.agreement, maker=maker,
                                 effective_from=date(2025, 1, 1))
    with pytest.raises(services.FourEyesError, match="approver role"):
        services.agreement_version_approve(version=pending, approved_by=plain)
    with pytest.raises(services.FourEyesError, match="approver role"):
        services.agreement_version_reject(version=pending, by=plain, reason="not agreed")
    assert AgreementVersion.objects.get(pk=pending.pk).status == "PENDING_APPROVAL"
    services.agreement_version_approve(version=pending, approved_by=role_user("ann", "approver"))
    assert AgreementVersion.objects.get(pk=pending.pk).status == "ACTIVE"
