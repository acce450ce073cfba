"""Issue 22, quarantine: a quarantined row corrected by staff (through a second person's approval
when it moves money) and replayed into the next run, the original kept
(lending.intake.corrections).

Platform OPA (tests/factories/operations.py): Friday 2026-11-06 settled, then Monday 11-09's
files with two bad repayments — XTYPO for a loan number nobody has (quarantined by the run,
UNKNOWN_LOAN, stage APPLY) and XPAYER with a payer that is no payer (quarantined by intake,
BAD_VALUE) — and Monday settled. The corrections go to Tuesday's run: Monday is settled, and a
settled day is never rewritten (FILE_FORMATS 1.1), so their paid_on is Tuesday.
"""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Sum

from controls.models import ChangeRequest, RequestStatus
from controls.requests import RequestError, request_approve
from ledger import checks
from lending.intake import corrections
from lending.intake.models import CorrectionStatus, QuarantineCorrection, StagedRepayment
from lending.models import Loan
from lending.settlement import runner
from lending.settlement.models import Movement, RunState
from partners.models import Partner, QuarantinedRow
from tests.factories import operations as ops

pytestmark = pytest.mark.django_db

CODE = "OPA"
FRI, MON, TUE = date(2026, 11, 6), date(2026, 11, 9), date(2026, 11, 10)


def _settle(day: date) -> None:
    run = runner.settlement_run(partner=Partner.objects.get(code=CODE), business_date=day)
    assert (run.state, run.error) == (RunState.DONE, ""), run.totals.get("check_problems")


def _deliver(day: dict) -> None:
    for kind in ops.KINDS:
        assert ops.deliver(*day[kind])["status"] == "ACCEPTED"


@pytest.fixture
def world(django_user_model):
    ops.world_setup()
    _deliver(ops.build(CODE, FRI, ops.day_files(CODE, FRI, random.Random("corr:fri"))))
    _settle(FRI)
    loan = Loan.objects.filter(partner__code=CODE, state="ACTIVE").order_by("pk").first()
    rows = ops.day_files(CODE, MON, random.Random("corr:mon"))
    rows["repayments"] = [r for r in rows["repayments"] if r[1] != loan.loan_no] + [
        ("XTYPO", loan.loan_no + "Z", MON, "100.00", "BORROWER", "PREPAYMENT"),
        ("XPAYER", loan.loan_no, MON, "80.00", "BORROWR", "PREPAYMENT"),
    ]
    _deliver(ops.build(CODE, MON, rows))
    _settle(MON)
    maker = django_user_model.objects.create_superuser("qc-maker", "m@example.test", "pw-maker-1")
    checker = django_user_model.objects.create_superuser("qc-checker", "c@example.test", "pw-chk-1")
    return {"loan": loan, "maker": maker, "checker": checker,
            "typo": QuarantinedRow.objects.get(raw__startswith="XTYPO,"),
            "payer": QuarantinedRow.objects.get(raw__startswith="XPAYER,")}


def _tuesday(loan: Loan) -> None:
    """Tuesday's files (none of them for the corrected loan) and Tuesday's run."""
    rows = ops.day_files(CODE, TUE, random.Random("corr:tue"))
    rows["repayments"] = [r for r in rows["repayments"] if r[1] != loan.loan_no]
    rows["reversals"] = []
    _deliver(ops.build(CODE, TUE, rows))
    _settle(TUE)


def _fixed(row: QuarantinedRow, **changes) -> dict:
    return {**corrections.correction_initial(row=row), **changes}


def _snapshot(row: QuarantinedRow) -> tuple:
    row = QuarantinedRow.objects.get(pk=row.pk)
    return (row.file_id, row.row_no, row.stage, row.reason, row.column, row.message, row.raw,
            row.amount, row.business_date)


def test_a_corrected_payment_is_approved_then_applied_by_the_next_run(world):
    typo, loan = world["typo"], world["loan"]
    assert (typo.stage, typo.reason) == ("APPLY", "UNKNOWN_LOAN")
    before = _snapshot(typo)
    corr = corrections.correction_request(
        row=typo, values=_fixed(typo, txn_no="XTYPO-C1", loan_no=loan.loan_no,
                                paid_on=TUE.isoformat()),
        note="platform ticket 4711: loan number mistyped", by=world["maker"])
    req = ChangeRequest.objects.get(pk=corr.request_id)
    assert (corr.status, req.status, req.kind) == (
        CorrectionStatus.PENDING_APPROVAL, RequestStatus.PENDING_APPROVAL, "ROW_CORRECTION")
    assert not StagedRepayment.objects.filter(txn_no="XTYPO-C1").exists()  # nothing before

    request_approve(req=req, by=world["checker"])
    corr.refresh_from_db()
    staged = StagedRepayment.objects.get(pk=corr.staged_id)
    assert (corr.status, corr.business_date, corr.approved_by) == (
        CorrectionStatus.QUEUED, TUE, world["checker"])
    assert (staged.business_date, staged.row_no, staged.file_id, staged.status, staged.amount,
            staged.loan_no) == (TUE, -corr.pk, typo.file_id, "STAGED", Decimal("100.00"),
                                loan.loan_no)
    # the original is kept as sent and links to its correction
    assert _snapshot(typo) == before
    typo.refresh_from_db()
    assert list(typo.corrections.all()) == [corr]
    assert typo.resolved and f"correction #{corr.pk}" in typo.resolution_note

    _tuesday(loan)
    staged.refresh_from_db()
    assert staged.status == "APPLIED"
    moved = Movement.objects.filter(txn_id=staged.pk, loan=loan, business_date=TUE)
    assert moved.exists()
    assert moved.aggregate(s=Sum("amount"))["s"] == Decimal("100.00")
    assert checks.run_checks(as_of=TUE, partner_id=loan.partner_id) == []
    assert corrections.correction_outcome(corr) == "APPLIED"


def test_self_approval_is_refused(world):
    payer = world["payer"]
    assert (payer.stage, payer.reason, payer.column) == ("INTAKE", "BAD_VALUE", "payer")
    corr = corrections.correction_request(
        row=payer, values=_fixed(payer, payer="BORROWER", paid_on=TUE.isoformat()),
        note="payer misspelt", by=world["maker"])
    req = ChangeRequest.objects.get(pk=corr.request_id)
    with pytest.raises(RequestError, match="another person must approve"):
        request_approve(req=req, by=world["maker"])
    corr.refresh_from_db()
    assert corr.status == CorrectionStatus.PENDING_APPROVAL and corr.staged_id is None
    assert not StagedRepayment.objects.filter(txn_no="XPAYER").exists()


def test_a_correction_still_invalid_is_refused_saying_what_and_where(world):
    payer, typo = world["payer"], world["typo"]
    with pytest.raises(corrections.CorrectionInvalid,
                       match=r"^payer: BAD_VALUE — .*BORROWR.*a repayments row of OPA for the "
                             r"run of 2026-11-10"):
        corrections.correction_request(row=payer, values=_fixed(payer, paid_on=TUE.isoformat()),
                                       note="date only", by=world["maker"])
    with pytest.raises(corrections.CorrectionInvalid, match=r"^paid_on: BAD_DATE — .*settled"):
        corrections.correction_request(row=payer, values=_fixed(payer, payer="BORROWER"),
                                       note="payer only", by=world["maker"])
    with pytest.raises(corrections.CorrectionInvalid,
                       match=r"^amount: BAD_AMOUNT — .*run of 2026-11-10"):
        corrections.correction_request(
            row=payer, values=_fixed(payer, payer="BORROWER", paid_on=TUE.isoformat(),
                                     amount="80.001"), note="amount", by=world["maker"])
    # the run quarantined XTYPO's staged row: its number is taken
    with pytest.raises(corrections.CorrectionInvalid,
                       match=r"^txn_no: DUPLICATE — .*give the corrected row a new one"):
        corrections.correction_request(
            row=typo, values=_fixed(typo, loan_no=world["loan"].loan_no,
                                    paid_on=TUE.isoformat()), note="loan", by=world["maker"])
    # what the row refers to is checked as the run's first step checks it
    with pytest.raises(corrections.CorrectionInvalid,
                       match=r"^loan_no: UNKNOWN_LOAN — no loan of this partner numbered "):
        corrections.correction_request(
            row=typo, values=_fixed(typo, txn_no="XTYPO-C2", paid_on=TUE.isoformat()),
            note="new number only", by=world["maker"])
    assert not QuarantineCorrection.objects.exists()
    assert not ChangeRequest.objects.filter(kind="ROW_CORRECTION").exists()


def test_the_replay_is_applied_once_and_the_files_still_account(world):
    payer, loan = world["payer"], world["loan"]
    corr = corrections.correction_request(
        row=payer, values=_fixed(payer, payer="BORROWER", paid_on=TUE.isoformat()),
        note="payer misspelt", by=world["maker"])
    req = ChangeRequest.objects.get(pk=corr.request_id)
    request_approve(req=req, by=world["checker"])
    with pytest.raises(RequestError, match="not pending approval"):
        request_approve(req=req, by=world["checker"])
    with pytest.raises(corrections.CorrectionError, match="already resolved"):
        corrections.correction_request(row=payer, values=_fixed(payer), note="again",
                                       by=world["maker"])
    _tuesday(loan)
    corr.refresh_from_db()
    staged = StagedRepayment.objects.get(txn_no="XPAYER")
    assert (staged.pk, staged.status, staged.row_no) == (corr.staged_id, "APPLIED", -corr.pk)
    applied = list(Movement.objects.filter(txn_id=staged.pk).values_list("pk", flat=True))
    assert applied
    run = runner.settlement_run(partner=Partner.objects.get(code=CODE), business_date=TUE)
    assert run.state == RunState.DONE
    assert list(Movement.objects.filter(txn_id=staged.pk).values_list("pk", flat=True)) \
        == applied
    assert StagedRepayment.objects.filter(txn_no="XPAYER").count() == 1
    # per file rows = applied + quarantined, both days; the replay is accounted on its own
    assert checks.run_checks(partner_id=loan.partner_id) == []
    assert corrections.corrections_accounted(as_of=TUE) == []
    # and the check sees a replay that is not there once
    StagedRepayment.objects.filter(pk=staged.pk).update(row_no=-10**9)
    assert corrections.corrections_accounted(as_of=TUE) == [
        f"{corr} (repayments, run {TUE}): 0 staged rows, expected exactly one"]


def _staff(username: str, *roles: str):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user(username=username, password="pw-qc-staff-1",
                                                is_staff=True)
    user.groups.set(Group.objects.filter(name__in=roles))
    assert user.groups.count() == len(roles)
    return user


def test_staff_correct_in_the_admin_and_another_person_approves(world, client):
    from django.urls import reverse

    payer = world["payer"]
    maker = _staff("qc-op", "operator", "approver")  # both roles: still not their own checker
    checker = _staff("qc-appr", "approver")
    client.force_login(maker)
    listing = client.get(reverse("admin:partners_quarantinedrow_changelist"))
    add = reverse("admin:lending_quarantinecorrection_add") + f"?quarantined={payer.pk}"
    assert add.replace("&", "&amp;") in listing.content.decode()
    page = client.get(add)
    assert page.status_code == 200 and payer.raw in page.content.decode()

    form = {"quarantined": payer.pk, "note": "payer misspelt (platform ticket 12)",
            **{f"col_{c}": v for c, v in _fixed(payer, paid_on=TUE.isoformat()).items()}}
    refused = client.post(add, form)
    assert refused.status_code == 200
    assert "Not corrected: payer: BAD_VALUE" in refused.content.decode()
    assert not QuarantineCorrection.objects.exists()

    form["col_payer"] = "BORROWER"
    done = client.post(add, form)
    assert done.status_code == 302
    corr = QuarantineCorrection.objects.get()
    assert corr.status == CorrectionStatus.PENDING_APPROVAL and corr.values["payer"] == "BORROWER"

    changelist = reverse("admin:lending_quarantinecorrection_changelist")
    action = {"action": "approve_corrections", "_selected_action": [corr.pk]}
    own = client.post(changelist, action, follow=True)
    assert "another person must approve" in own.content.decode()
    corr.refresh_from_db()
    assert corr.status == CorrectionStatus.PENDING_APPROVAL and corr.staged_id is None

    client.force_login(checker)
    client.post(changelist, action)
    corr.refresh_from_db()
    assert (corr.status, corr.approved_by, corr.business_date) == (
        CorrectionStatus.QUEUED, checker, TUE)
    assert StagedRepayment.objects.get(pk=corr.staged_id).status == "STAGED"
    listed = client.get(changelist).content.decode()
    assert f"#{corr.request_id}</a>" in listed and "STAGED" in listed  # the replay's state
    page = client.get(reverse("admin:lending_quarantinecorrection_change", args=[corr.pk]))
    assert page.status_code == 200 and corr.line in page.content.decode()


def test_the_run_a_correction_goes_to(world):
    """Its own date while open; else the first business day after the last settled one whose
    run has not started (FILE_FORMATS 1.1: a settled day is never rewritten)."""
    from lending.settlement.models import SettlementRun

    partner = Partner.objects.get(code=CODE)
    wed, fri = date(2026, 11, 11), date(2026, 11, 13)
    assert corrections.correction_target_date(partner_id=partner.pk, row_date=MON) == TUE
    assert corrections.correction_target_date(partner_id=partner.pk, row_date=FRI) == TUE
    assert corrections.correction_target_date(partner_id=partner.pk, row_date=fri) == fri
    SettlementRun.objects.create(partner=partner, business_date=TUE, state=RunState.RUNNING)
    assert corrections.correction_target_date(partner_id=partner.pk, row_date=MON) == wed
