"""Issue 21, findings 1 and 2 and the maker-checker flows, through the admin as staff use it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from controls.models import ChangeRequest
from lending.models import AgreementFunder, AgreementVersion, Break, Program
from lending.reconciliation import services as recon
from tests.factories import browser as fb
from tests.factories import lending as f
from tests.factories import reconciliation as rf
from tests.functional.controls.helpers import admin_form_data, role_user

pytestmark = pytest.mark.django_db

VERSIONS = "admin:lending_agreementversion_changelist"


@pytest.fixture
def beta():
    """AG-BETA v1 ACTIVE (70/30) and v2 PENDING (bank 0.60) drafted by the maker `mei`."""
    platform = f.partner("BETA")
    active = f.active_agreement(code="AG-BETA", platform=platform)
    maker = role_user("mei", "risk")
    pending = fb.pending_version(agreement=active.agreement, maker=maker,
                                 effective_from=date(2025, 1, 1))
    return active, pending


def _act(client, action: str, *objs, url=VERSIONS, **extra):
    return client.post(reverse(url), {"action": action,
                                      ACTION_CHECKBOX_NAME: [o.pk for o in objs], **extra},
                       follow=True)


def _messages(resp) -> str:
    return " | ".join(str(m) for m in resp.context["messages"])


def _bank_ratio(version) -> Decimal:
    return AgreementFunder.objects.get(version=version, funder=f.bank()).principal_ratio


def test_finding_1_a_view_only_user_cannot_approve(beta, as_user):
    """Before: a user with only view permissions POSTed approve_versions and AG-BETA v2 became
    ACTIVE. Now the action is not offered to them and the POST changes nothing."""
    _, pending = beta
    viewer = get_user_model().objects.create_user("vic", password="x", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(
        codename__in=["view_agreementversion", "view_agreement"]))
    client = as_user(viewer)
    page = client.get(reverse(VERSIONS))
    assert page.status_code == 200 and "approve_versions" not in page.content.decode()
    resp = _act(client, "approve_versions", pending)
    assert resp.status_code == 200
    pending.refresh_from_db()
    assert (pending.status, pending.approved_by) == ("PENDING_APPROVAL", None)

    # every role without the approver's permission is refused the same way
    for role in ("operator", "finance", "risk", "auditor", "administrator"):
        _act(as_user(role_user(f"u-{role}", role)), "approve_versions", pending)
        pending.refresh_from_db()
        assert pending.status == "PENDING_APPROVAL", role

    approver = role_user("ann", "approver")
    resp = _act(as_user(approver), "approve_versions", pending)
    assert "AG-BETA v2 approved and active" in _messages(resp)
    pending.refresh_from_db()
    assert (pending.status, pending.approved_by) == ("ACTIVE", approver)


def test_finding_2_a_checker_cannot_edit_past_the_cap_nor_approve_own_edit(beta, as_user):
    """Before: a checker with change permission set the bank ratio 0.60 → 0.90 (cap 0.70)
    on the maker's pending version, approved it, and it became ACTIVE. Now the edit is a form
    error; a valid edit sends it back to draft, and its editor may not approve it."""
    _, pending = beta
    checker = role_user("chen", "risk", "approver")
    client = as_user(checker)
    url = reverse("admin:lending_agreementversion_change", args=[pending.pk])
    data = admin_form_data(client.get(url))
    bank_row = next(k[:-len("funder")] for k, v in data.items()
                    if k.endswith("-funder") and str(v) == str(f.bank().pk))
    other_row = next(k[:-len("funder")] for k, v in data.items()
                     if k.endswith("-funder") and str(v) != str(f.bank().pk))

    data[bank_row + "principal_ratio"], data[other_row + "principal_ratio"] = "0.90", "0.10"
    resp = client.post(url, data)
    assert resp.status_code == 200  # the form again, with the error: not saved
    assert "0.7" in resp.content.decode() and "errornote" in resp.content.decode()
    pending.refresh_from_db()
    assert pending.status == "PENDING_APPROVAL" and _bank_ratio(pending) == Decimal("0.60")

    data[bank_row + "principal_ratio"], data[other_row + "principal_ratio"] = "0.65", "0.35"
    resp = client.post(url, data)
    assert resp.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "DRAFT" and pending.editor_ids == [checker.pk]
    assert _bank_ratio(pending) == Decimal("0.65")

    # the maker submits again; the editor may not approve; a third person may
    maker_client = as_user(pending.created_by)
    assert "submitted for approval" in _messages(
        _act(maker_client, "submit_versions", pending))
    resp = _act(client, "approve_versions", pending)
    assert "edited by chen" in _messages(resp)
    pending.refresh_from_db()
    assert pending.status == "PENDING_APPROVAL"
    # the maker, even holding the approver role, may not approve their own version
    pending.created_by.groups.add(*checker.groups.filter(name="approver"))
    assert "another person must approve" in _messages(
        _act(maker_client, "approve_versions", pending))
    third = role_user("dan", "approver")
    _act(as_user(third), "approve_versions", pending)
    pending.refresh_from_db()
    assert (pending.status, pending.approved_by) == ("ACTIVE", third)


def test_finding_2_ratios_summing_to_1_5_are_a_form_error_not_a_500(beta, as_user):
    active, _ = beta
    maker = role_user("rita", "risk")
    client = as_user(maker)
    add = reverse("admin:lending_agreementversion_add")
    page = client.get(add)
    assert page.status_code == 200
    data = admin_form_data(page)
    data.update({
        "agreement": active.agreement.pk, "version": 3, "effective_from": "2026-01-01",
        "residual_owner": active.agreement.platform.pk,
        "funders-TOTAL_FORMS": "2", "funders-INITIAL_FORMS": "0",
        "funders-0-funder": f.bank().pk, "funders-0-principal_ratio": "0.70",
        "funders-1-funder": active.agreement.platform.pk, "funders-1-principal_ratio": "0.80",
    })
    resp = client.post(add, data)
    assert resp.status_code == 200
    assert "sum to 1.50, not 1" in resp.content.decode()
    assert not AgreementVersion.objects.filter(version=3).exists()

    data["funders-1-principal_ratio"] = "0.30"
    assert client.post(add, data).status_code == 302
    v3 = AgreementVersion.objects.get(version=3)
    assert (v3.status, v3.created_by) == ("DRAFT", maker)  # a draft, then submitted
    _act(client, "submit_versions", v3)
    v3.refresh_from_db()
    assert v3.status == "PENDING_APPROVAL"


def test_rejection_needs_a_reason_and_is_recorded(beta, as_user):
    _, pending = beta
    client = as_user(role_user("ann", "approver"))
    page = _act(client, "reject_versions", pending)
    assert 'name="reason"' in page.content.decode()
    resp = _act(client, "reject_versions", pending, apply="1", reason="  ")
    assert "needs a reason" in _messages(resp)
    pending.refresh_from_db()
    assert pending.status == "PENDING_APPROVAL"
    _act(client, "reject_versions", pending, apply="1", reason="fee rate not agreed")
    pending.refresh_from_db()
    assert (pending.status, pending.rejection_reason, pending.rejected_by.username) == (
        "REJECTED", "fee rate not agreed", "ann")


def test_break_write_off_needs_an_approver(as_user):
    platform, program = rf.platform_with_program("ALPHA")
    rf.loans(program, ["L1"])
    day = date(2026, 6, 16)
    rf.balances_file(platform, day, [("L1", "9990.00", "50.00", "0.00", 0, "ACTIVE")])
    recon.breaks_reconcile(partner_id=platform.pk, business_date=day)
    brk = Break.objects.order_by("pk").first()
    assert brk is not None and brk.status == "OPEN"
    operator = role_user("olga", "operator", "approver")  # holds both: still not alone
    op = as_user(operator)
    url = "admin:lending_break_changelist"
    _act(op, "resolve_breaks", brk, url=url, apply="1", note="small difference",
         status="WRITTEN_OFF")
    brk.refresh_from_db()
    assert brk.status == "OPEN"  # one person alone wrote nothing off
    req = ChangeRequest.objects.get(target_id=brk.pk)
    assert req.status == "PENDING_APPROVAL"

    requests = "admin:controls_changerequest_changelist"
    assert "another person must approve" in _messages(
        _act(op, "approve_requests", req, url=requests))
    # a plain operator is not even offered the action: the POST changes nothing
    _act(as_user(role_user("oscar", "operator")), "approve_requests", req, url=requests)
    brk.refresh_from_db()
    req.refresh_from_db()
    assert (brk.status, req.status) == ("OPEN", "PENDING_APPROVAL")

    approver = role_user("ann", "approver")
    _act(as_user(approver), "approve_requests", req, url=requests)
    brk.refresh_from_db()
    req.refresh_from_db()
    assert (brk.status, brk.resolved_by, req.status, req.decided_by) == (
        "WRITTEN_OFF", operator, "APPROVED", approver)
    assert brk.resolution_note.startswith("small difference")


def test_program_change_takes_effect_only_when_approved(as_user):
    version = f.active_agreement(code="AG-ALPHA", platform=f.partner("ALPHA"))
    program = f.program(code="CASH", version=version)
    risk = role_user("rick", "risk")
    client = as_user(risk)
    url = reverse("admin:lending_program_change", args=[program.pk])
    data = admin_form_data(client.get(url))
    data["max_principal"] = "50000.00"
    resp = client.post(url, data)
    assert resp.status_code == 302, resp.content.decode()[:2000]
    program.refresh_from_db()
    assert program.max_principal == Decimal("200000.00")  # unchanged until approved
    req = ChangeRequest.objects.get(kind="PROGRAM_CHANGE", target_id=program.pk)
    assert req.payload == {"max_principal": "50000.00"}

    # an edit after submission sends it back to draft; its editor may not approve
    editor = role_user("eve", "approver", "risk")
    edit_url = reverse("admin:controls_changerequest_change", args=[req.pk])
    edit = admin_form_data(as_user(editor).get(edit_url))
    edit["payload"] = '{"max_principal": "60000.00"}'
    as_user(editor).post(edit_url, edit)
    req.refresh_from_db()
    assert (req.status, req.editor_ids) == ("DRAFT", [editor.pk])
    requests = "admin:controls_changerequest_changelist"
    _act(client, "submit_requests", req, url=requests)
    assert "edited by eve" in _messages(_act(as_user(editor), "approve_requests", req,
                                             url=requests))
    _act(as_user(role_user("ann", "approver")), "approve_requests", req, url=requests)
    program.refresh_from_db()
    assert program.max_principal == Decimal("60000.00")
    assert Program.objects.get(pk=program.pk).max_principal == Decimal("60000.00")


def test_finding_1_read_only_staff_cannot_rerun_resolve_or_write_off(as_user):
    """The auditor sees runs and breaks but POSTing their actions does nothing (quarantine's
    action is refused the same way: test_permission_matrix)."""
    from lending.models import SettlementRun

    platform, program = rf.platform_with_program("ALPHA")
    rf.loans(program, ["L1"])
    day = date(2026, 6, 16)
    rf.balances_file(platform, day, [("L1", "9990.00", "50.00", "0.00", 0, "ACTIVE")])
    recon.breaks_reconcile(partner_id=platform.pk, business_date=day)
    brk = Break.objects.order_by("pk").first()
    run = SettlementRun.objects.create(partner=platform, business_date=day, state="FAILED")
    auditor = as_user(role_user("audrey", "auditor"))
    for url in ("admin:lending_break_changelist", "admin:lending_settlementrun_changelist",
                "admin:partners_quarantinedrow_changelist"):
        assert auditor.get(reverse(url)).status_code == 200  # sees them
    _act(auditor, "resolve_breaks", brk, url="admin:lending_break_changelist", apply="1",
         note="x", status="WRITTEN_OFF")
    _act(auditor, "resolve_breaks", brk, url="admin:lending_break_changelist", apply="1",
         note="x", status="RESOLVED")
    _act(auditor, "rerun_runs", run, url="admin:lending_settlementrun_changelist")
    brk.refresh_from_db()
    run.refresh_from_db()
    assert (brk.status, run.state, run.attempts) == ("OPEN", "FAILED", 0)
    assert not ChangeRequest.objects.exists()
