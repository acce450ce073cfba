"""New loans and repayments, one event at a time (see benchmarks.yardstick)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from benchmarks.yardstick.common import (
    _RECEIVABLE,
    _SHARE_FIELD,
    TEN_PLACES,
    ZERO,
    BaselineError,
    _post,
)
from ledger.domain import chart
from ledger.domain.drafts import LineDraft
from lending.domain.schedule import add_months, build_schedule
from lending.domain.split import split, split_principal
from lending.domain.waterfall import Component, OwedItem, allocate
from lending.domain.weights import accrual_weights, penalty_weights, year_days
from lending.models import (
    AgreementVersion,
    Installment,
    Loan,
    LoanShare,
    Program,
    StagedLoan,
)
from lending.settlement.posting import program_dimension

# --- New loans ----------------------------------------------------------------------------------


def loan_book_one(*, staged_id: int, partner_code: str, bank_id: int, day: date) -> int:
    """Book one staged loan the per-event way; returns the journal lines posted."""
    with transaction.atomic():
        row = StagedLoan.objects.select_for_update().get(pk=staged_id)
        if row.status != "STAGED":
            raise BaselineError(f"staged loan {row.loan_no} is {row.status}, not STAGED")
        program = Program.objects.select_related("agreement").get(pk=row.program_id)
        version = AgreementVersion.objects.get(pk=row.agreement_version_id)
        funders = list(version.funders.order_by("funder_id"))
        residual = version.residual_owner_id
        parts = split(row.principal, {f.funder_id: f.principal_ratio for f in funders}, residual)
        a_weights = accrual_weights(version.interest_split_rule, parts,
                                    {f.funder_id: f.interest_rate for f in funders})
        p_weights = penalty_weights(version.penalty_split_rule, parts, bank_id,
                                    program.agreement.platform_id)
        if row.repayment_method == "DAILY":
            # 随借随还: one instalment at the program's longest term, interest linear to it
            # (as lending.services.loans_book books it)
            maturity = add_months(row.disbursed_on, program.max_term_months)
            plan = [(1, maturity, row.principal, ZERO)]
            accrual = (row.principal * row.annual_rate * (maturity - row.disbursed_on).days
                       / year_days(program.day_count))
        else:
            schedule = build_schedule(row.principal, row.annual_rate, row.term_months,
                                      row.repayment_method, row.disbursed_on, row.first_due_on,
                                      program.day_count)
            plan = [(i.seq, i.due_on, i.principal, i.interest) for i in schedule.installments]
            accrual = plan[0][3]
        loan = Loan.objects.create(
            partner_id=row.partner_id, loan_no=row.loan_no, program=program,
            agreement_version=version, borrower_token=row.borrower_token,
            principal=row.principal, annual_rate=row.annual_rate, term_months=row.term_months,
            repayment_method=row.repayment_method, disbursed_on=row.disbursed_on,
            first_due_on=plan[0][1], maturity_on=plan[-1][1],
            bank_approval_ref=row.bank_approval_ref,
            bank_ratio=next((f.principal_ratio for f in funders if f.funder_id == bank_id),
                            Decimal("0")),
            principal_outstanding=row.principal, booked_on=day, accrual_from=row.disbursed_on,
            accrual_to=plan[0][1], accrual_amount=accrual.quantize(TEN_PLACES))
        for f in funders:
            LoanShare.objects.create(
                loan=loan, funder_id=f.funder_id, ratio=f.principal_ratio,
                interest_rate=f.interest_rate, funded_principal=parts[f.funder_id],
                principal_outstanding=parts[f.funder_id], accrual_weight=a_weights[f.funder_id],
                penalty_weight=p_weights[f.funder_id], is_residual=f.funder_id == residual)
        Installment.objects.bulk_create(
            Installment(loan=loan, seq=seq, due_on=due_on, principal_due=principal,
                        interest_due=interest)
            for seq, due_on, principal, interest in plan)
        row.status, row.applied_at = "APPLIED", timezone.now()
        row.save(update_fields=["status", "applied_at"])
        bank_part = parts.get(bank_id, ZERO)
        dim = program_dimension(partner_code, program.code)
        source = f"baseline:book:{row.loan_no}"
        lines = []
        if bank_part:
            lines = [LineDraft.dr(chart.LOANS_RECEIVABLE, bank_part, program=dim, source=source),
                     LineDraft.cr(chart.DUE_TO_PLATFORM, bank_part, program=dim,
                                  counterparty=partner_code, source=source)]
        return _post(key=source, purpose="DISBURSE", day=day, lines=lines)


# --- Repayments ---------------------------------------------------------------------------------


def repayment_apply_one(*, partner_code: str, partner_id: int, loan_no: str, amount: Decimal,
                        day: date, txn_no: str, bank_id: int) -> int:
    """Apply one repayment the per-event way; returns the journal lines posted."""
    with transaction.atomic():
        loan = Loan.objects.select_for_update(of=("self",)).select_related("program").get(
            partner_id=partner_id, loan_no=loan_no)
        insts = list(loan.installments.order_by("seq"))
        shares = list(loan.shares.order_by("funder_id"))
        residual = next(s for s in shares if s.is_residual).funder_id
        items = []
        for i in insts:
            if i.due_on > day:
                break
            if i.interest_due - i.interest_paid:
                items.append(OwedItem(i.seq, i.due_on, Component.INTEREST,
                                      i.interest_due - i.interest_paid))
            if i.principal_due - i.principal_paid:
                items.append(OwedItem(i.seq, i.due_on, Component.PRINCIPAL,
                                      i.principal_due - i.principal_paid))
        alloc = allocate(amount, items, (Component.INTEREST, Component.PRINCIPAL))
        by_seq = {i.seq: i for i in insts}
        bank_lines: dict[Component, Decimal] = {}
        for line in alloc.lines:
            inst = by_seq[line.installment]
            if line.component == Component.INTEREST:
                inst.interest_paid += line.amount
            else:
                inst.principal_paid += line.amount
            if inst.principal_paid == inst.principal_due and inst.interest_paid == inst.interest_due:
                inst.status, inst.paid_on = "PAID", day
            inst.save()
            attr = _SHARE_FIELD[line.component]
            balances = {s.funder_id: getattr(s, attr) for s in shares}
            # interest billed today is not in the shares yet (it is derived until an event):
            # split it by principal, and it is billed and paid at once (no balance change)
            billed_now = sum(balances.values(), ZERO) < line.amount
            if billed_now:
                balances = {s.funder_id: s.principal_outstanding for s in shares}
            parts = split_principal(line.amount, balances, residual)
            for s in shares:
                part = parts.get(s.funder_id, ZERO)
                if not billed_now:
                    setattr(s, attr, getattr(s, attr) - part)
                if s.funder_id == bank_id and part:
                    bank_lines[line.component] = bank_lines.get(line.component, ZERO) + part
        for s in shares:
            s.save()
        loan.overpaid_amount += alloc.overpayment
        loan.principal_outstanding = sum((s.principal_outstanding for s in shares), ZERO)
        loan.save()
        dim = program_dimension(partner_code, loan.program.code)
        lines = []
        for component, part in sorted(bank_lines.items()):
            lines.append(LineDraft.dr(chart.DUE_FROM_PLATFORM, part, program=dim,
                                      counterparty=partner_code, source=f"baseline:{txn_no}"))
            lines.append(LineDraft.cr(_RECEIVABLE[component], part, program=dim,
                                      source=f"baseline:{txn_no}"))
        return _post(key=f"baseline:{txn_no}", purpose="COLLECT", day=day, lines=lines)
