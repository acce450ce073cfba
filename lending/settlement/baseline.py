"""A straightforward per-event repayment implementation — it exists ONLY as the yardstick of
`manage.py bench_settlement` (issue 6, acceptance 5: the batch run must beat it 100-fold).

Never call it from the settlement: it is the design that DESIGN §8 rules out. One ORM
transaction and one journal entry per repayment: load the loan, its shares and instalments with
the ORM, allocate with the domain waterfall, split each component between the funders with the
domain split, save every changed share and instalment with `.save()`, then post one entry with
`ledger.services.journal_entries_post`. It handles what a plain SCHEDULED borrower payment needs
(billed instalments, interest, principal, the bank's lines) — enough to time the per-event cost,
not a second settlement engine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction

from ledger import services as ledger
from ledger.domain import chart
from ledger.domain.drafts import EntryDraft, LineDraft
from lending.domain.split import split_principal
from lending.domain.waterfall import Component, OwedItem, allocate
from lending.models import Loan
from lending.settlement.posting import program_dimension

ZERO = Decimal("0.00")
_RECEIVABLE = {Component.INTEREST: chart.INTEREST_RECEIVABLE,
               Component.PRINCIPAL: chart.LOANS_RECEIVABLE}
_SHARE_FIELD = {Component.INTEREST: "interest_outstanding",
                Component.PRINCIPAL: "principal_outstanding"}


@dataclass
class BaselineResult:
    events: int
    seconds: float
    entries: int

    @property
    def per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def repayment_apply_one(*, partner_code: str, partner_id: int, loan_no: str, amount: Decimal,
                        day: date, txn_no: str, bank_id: int) -> int:
    """Apply one repayment the per-event way; returns the journal lines posted."""
    with transaction.atomic():
        loan = Loan.objects.select_for_update().select_related("program").get(
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
        if lines:
            ledger.journal_entries_post(drafts=[EntryDraft(
                book=chart.BANK_GL, business_date=day, idempotency_key=f"baseline:{txn_no}",
                purpose="COLLECT", lines=tuple(lines), source_run="baseline")])
        return len(lines)


class _Rollback(Exception):
    pass


def baseline_run(*, partner_code: str, partner_id: int, bank_id: int, day: date,
                 repayments: list[tuple[str, str, Decimal]]) -> BaselineResult:
    """Time the per-event path over (txn_no, loan_no, amount) in a savepoint rolled back."""
    started = time.monotonic()
    lines = 0
    try:
        with transaction.atomic():
            for txn_no, loan_no, amount in repayments:
                lines += repayment_apply_one(partner_code=partner_code, partner_id=partner_id,
                                             loan_no=loan_no, amount=amount, day=day,
                                             txn_no=txn_no, bank_id=bank_id)
            elapsed = time.monotonic() - started
            raise _Rollback
    except _Rollback:
        pass
    return BaselineResult(events=len(repayments), seconds=elapsed, entries=len(repayments))
