"""Issue 21, acceptance 3: maker-checker for every flow that is a change request, listed from the
registry (controls.requests.registry), so a new kind without a case here fails.

For each kind, the same story through the services the admin calls: submitted, nothing happens;
the maker (even holding the approver role) and a person without the role cannot approve; an
edit after submission sends it back to draft and clears it, and its editor cannot approve it;
a rejection needs a reason and is recorded, still with no effect; submitted again, a second
approver approves and only now the change takes effect. Agreement versions, the one flow that
is not a change request, have the same story in tests/functional/controls/test_four_eyes.py."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest
from django.contrib.auth.models import Group

from controls.models import (
    ChangeRequest,
    LimitBankFigure,
    LimitThreshold,
    PaymentRelease,
    RequestKind,
    RequestStatus,
)
from controls.requests import (
    HANDLERS,
    MANUAL_PURPOSE,
    RequestError,
    request_approve,
    request_create,
    request_edit,
    request_reject,
    request_submit,
)
from ledger.domain import chart
from ledger.models import JournalEntry
from ledger.services import chart_of_accounts_load
from lending.intake import corrections
from lending.intake.models import StagedRepayment
from lending.models import Break, Loan, Program, Statement
from lending.reconciliation import services as recon
from lending.settlement import runner
from lending.settlement.models import RunState
from partners.models import Partner, QuarantinedRow
from tests.factories import browser as fb
from tests.factories import lending as f
from tests.factories import operations as ops
from tests.factories import reconciliation as rf
from tests.functional.controls.helpers import role_user

pytestmark = pytest.mark.django_db


@dataclass
class Flow:
    make: Callable[..., ChangeRequest]  # drafted and submitted by `by`
    effect: Callable[[], object]  # what the approval changes


def _create(kind: str, target_id: int, payload: dict) -> Callable[..., ChangeRequest]:
    def make(by) -> ChangeRequest:
        return request_create(kind=kind, target_id=target_id, payload=payload,
                              note="why: see the ticket", by=by)
    return make


def _program_change() -> Flow:
    version = f.active_agreement(code="AG-ALPHA", platform=f.partner("ALPHA"))
    program = f.program(code="CASH", version=version)
    return Flow(_create(RequestKind.PROGRAM_CHANGE, program.pk, {"max_principal": "50000.00"}),
                lambda: Program.objects.get(pk=program.pk).max_principal)


def _break_write_off() -> Flow:
    platform, program = rf.platform_with_program("ALPHA")
    rf.loans(program, ["L1"])
    day = date(2026, 6, 16)
    rf.balances_file(platform, day, [("L1", "9990.00", "50.00", "0.00", 0, "ACTIVE")])
    recon.breaks_reconcile(partner_id=platform.pk, business_date=day)
    brk = Break.objects.order_by("pk").first()
    assert brk is not None and brk.status == "OPEN"
    return Flow(_create(RequestKind.BREAK_WRITE_OFF, brk.pk, {"note": "small difference"}),
                lambda: Break.objects.get(pk=brk.pk).status)


def _partner_status() -> Flow:
    partner = f.partner("ALPHA")
    return Flow(_create(RequestKind.PARTNER_STATUS, partner.pk, {"status": "SUSPENDED"}),
                lambda: Partner.objects.get(pk=partner.pk).status)


def _manual_journal() -> Flow:
    chart_of_accounts_load()
    lines = [{"account": chart.LOSS_ALLOWANCE, "debit": "250.00", "credit": "0"},
             {"account": chart.LOANS_RECEIVABLE, "debit": "0", "credit": "250.00",
              "program": "P1"}]
    payload = {"book": chart.BANK_GL, "business_date": "2026-03-16",
               "memo": "allowance correction", "lines": lines}
    return Flow(_create(RequestKind.MANUAL_JOURNAL, 0, payload),
                lambda: JournalEntry.objects.filter(purpose=MANUAL_PURPOSE).count())


SETTLED = date(2026, 1, 15)


def _payment_release() -> Flow:
    fb.settled_day(SETTLED)
    statement = Statement.objects.exclude(net_amount=0).order_by("pk").first()
    assert statement is not None and not statement.provisional
    return Flow(_create(RequestKind.PAYMENT_RELEASE, statement.pk,
                        {"amount": str(statement.net_amount)}),
                lambda: PaymentRelease.objects.filter(statement=statement).count())


def _loan_write_off() -> Flow:
    fb.settled_day(SETTLED)
    loan = Loan.objects.get(loan_no="LN-DAY-1")
    return Flow(_create(RequestKind.LOAN_WRITE_OFF, loan.pk,
                        {"note": "fraud confirmed by the platform", "effective_on": "2026-01-16"}),
                lambda: Loan.objects.get(pk=loan.pk).write_off_ordered_on)


def _row_correction() -> Flow:
    """Platform OPA: Friday settled, Monday's repayments with a payer that is no payer
    (quarantined by intake, BAD_VALUE), Monday settled; the correction goes to Tuesday's run
    (as tests/integration/intake/test_quarantine_corrections.py)."""
    code, fri, mon, tue = "OPA", date(2026, 11, 6), date(2026, 11, 9), date(2026, 11, 10)
    ops.world_setup()

    def deliver_and_settle(day: date, rows: dict) -> None:
        files = ops.build(code, day, rows)
        for kind in ops.KINDS:
            assert ops.deliver(*files[kind])["status"] == "ACCEPTED"
        run = runner.settlement_run(partner=Partner.objects.get(code=code), business_date=day)
        assert run.state == RunState.DONE, run.error

    deliver_and_settle(fri, ops.day_files(code, fri, random.Random("flow:fri")))
    loan = Loan.objects.filter(partner__code=code, state="ACTIVE").order_by("pk").first()
    assert loan is not None
    rows = ops.day_files(code, mon, random.Random("flow:mon"))
    rows["repayments"] = [r for r in rows["repayments"] if r[1] != loan.loan_no] + [
        ("XPAYER", loan.loan_no, mon, "80.00", "BORROWR", "PREPAYMENT")]
    deliver_and_settle(mon, rows)
    row = QuarantinedRow.objects.get(raw__startswith="XPAYER,")

    def make(by) -> ChangeRequest:
        values = {**corrections.correction_initial(row=row), "payer": "BORROWER",
                  "paid_on": tue.isoformat()}
        corr = corrections.correction_request(row=row, values=values, note="payer misspelt",
                                              by=by)
        return ChangeRequest.objects.get(pk=corr.request_id)
    return Flow(make, lambda: StagedRepayment.objects.filter(txn_no="XPAYER").count())


def _limit_threshold() -> Flow:
    payload = {"code": "BORROWER", "threshold": "150000.0000", "warning_level": "0.9000",
               "effective_from": "2030-01-01", "note": "regulator's letter"}
    return Flow(_create(RequestKind.LIMIT_THRESHOLD, 0, payload),
                lambda: LimitThreshold.objects.filter(code="BORROWER",
                                                      effective_from=date(2030, 1, 1)).count())


def _limit_bank_figure() -> Flow:
    payload = {"figure": "NET_TIER1_CAPITAL", "amount": "900000000.00",
               "effective_from": "2030-01-01", "note": "audited accounts"}
    return Flow(_create(RequestKind.LIMIT_BANK_FIGURE, 0, payload),
                lambda: [(x.amount, x.effective_from) for x in LimitBankFigure.objects.filter(
                    figure="NET_TIER1_CAPITAL", effective_from=date(2030, 1, 1))])


FLOWS: dict[str, Callable[[], Flow]] = {
    RequestKind.PROGRAM_CHANGE: _program_change,
    RequestKind.BREAK_WRITE_OFF: _break_write_off,
    RequestKind.PARTNER_STATUS: _partner_status,
    RequestKind.MANUAL_JOURNAL: _manual_journal,
    RequestKind.PAYMENT_RELEASE: _payment_release,
    RequestKind.LOAN_WRITE_OFF: _loan_write_off,
    RequestKind.ROW_CORRECTION: _row_correction,
    RequestKind.LIMIT_THRESHOLD: _limit_threshold,
    RequestKind.LIMIT_BANK_FIGURE: _limit_bank_figure,
}


def test_every_kind_of_request_has_its_flow_here():
    assert set(FLOWS) == set(HANDLERS) == set(RequestKind.values)


@pytest.mark.parametrize("kind", sorted(FLOWS))
def test_maker_checker_holds(kind):
    flow = FLOWS[kind]()
    maker = role_user("mia", "operator", "finance", "risk")
    editor = role_user("eve", "approver", "risk")
    without_role = role_user("otto", "operator", "finance", "risk")
    approver = role_user("ann", "approver")

    req = flow.make(maker)
    assert (req.kind, req.status, req.created_by) == (kind, RequestStatus.PENDING_APPROVAL,
                                                      maker)
    before = flow.effect()

    # no one approves alone: not the maker, even holding the approver role; not without it
    maker.groups.add(Group.objects.get(name="approver"))
    with pytest.raises(RequestError, match="another person must approve"):
        request_approve(req=req, by=maker)
    with pytest.raises(RequestError, match="does not hold the approver role"):
        request_approve(req=req, by=without_role)

    # an edit after submission sends it back to draft and clears it; the editor may not approve
    req = request_edit(req=req, by=editor, payload=dict(req.payload))
    assert (req.status, req.submitted_at, req.decided_by, req.editor_ids) == (
        RequestStatus.DRAFT, None, None, [editor.pk])
    with pytest.raises(RequestError, match="not pending approval"):
        request_approve(req=req, by=approver)  # a draft is approved by no one
    req = request_submit(req=req, by=maker)
    with pytest.raises(RequestError, match="edited by eve"):
        request_approve(req=req, by=editor)
    assert flow.effect() == before

    # a rejection needs a reason and is recorded; it changes nothing
    with pytest.raises(RequestError, match="needs a reason"):
        request_reject(req=req, by=approver, reason="  ")
    request_reject(req=req, by=approver, reason="figures not agreed")
    req.refresh_from_db()
    assert (req.status, req.rejection_reason, req.decided_by) == (
        RequestStatus.REJECTED, "figures not agreed", approver)
    assert flow.effect() == before

    # submitted again, a second approver approves: only now the change takes effect, once
    req = request_submit(req=req, by=maker)
    assert (req.status, req.rejection_reason, req.decided_by) == (
        RequestStatus.PENDING_APPROVAL, "", None)
    assert flow.effect() == before
    req = request_approve(req=req, by=approver)
    assert (req.status, req.decided_by) == (RequestStatus.APPROVED, approver)
    after = flow.effect()
    assert after != before, req.applied_result
    with pytest.raises(RequestError, match="not pending approval"):
        request_approve(req=req, by=role_user("abe", "approver"))
    assert flow.effect() == after
