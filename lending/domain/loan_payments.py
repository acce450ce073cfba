"""The loan day's payments (DOMAIN §3.4, §8.2, §8.4, §8.8)."""

from __future__ import annotations

from decimal import Decimal

from .loan_accrual import AccrualDay
from .loan_penalty import pay_inst_penalty, settle_to_shares
from .loan_state import (
    CLOSED_STATES,
    COMPONENT_FIELD,
    OPEN_STATES,
    TEN_PLACES,
    Inst,
    _plus_days,
)
from .money import ZERO, q2
from .schedule import build_schedule
from .split import split_principal
from .waterfall import Component, OwedItem, allocate


class PaymentsDay(AccrualDay):
    """Payments: what is owed, the waterfall, the split by balances, re-amortising, closing."""

    # -- payments ----------------------------------------------------------------------------
    def owed_items(self, *, to_date: bool) -> tuple[list[OwedItem], Decimal]:
        """What is owed now (penalties, billed instalments, crystallised current interest)."""
        loan = self.loan
        if to_date or self.terms.method == "DAILY":
            self.crystallise_interest(self.day)
        if loan.penalty_from is not None:
            self.crystallise_penalty(self.day)
        shares = loan.shares.values()
        items: list[OwedItem] = []
        # each instalment's penalty and compound interest with it, oldest first (§8.2)
        settle_to_shares(loan)
        for i in loan.insts:
            if i.penalty_unpaid:
                items.append(OwedItem(i.seq, i.due_on, Component.PENALTY, i.penalty_unpaid))
            if i.compound_unpaid:
                items.append(OwedItem(i.seq, i.due_on, Component.COMPOUND, i.compound_unpaid))
        billed_interest = ZERO
        unbilled_principal = ZERO
        current = None
        for i in loan.insts:
            if i.seq <= loan.billed_seq:
                if i.interest_unpaid:
                    items.append(OwedItem(i.seq, i.due_on, Component.INTEREST, i.interest_unpaid))
                    billed_interest += i.interest_unpaid
                if i.principal_unpaid:
                    items.append(OwedItem(i.seq, i.due_on, Component.PRINCIPAL,
                                          i.principal_unpaid))
            else:
                unbilled_principal += i.principal_unpaid
                if current is None:
                    current = i
        # The running period's interest crystallised before its billing (a prepayment, a
        # reversal day) is owed now only to a payment that may pay interest to date; a
        # SCHEDULED payment pays what has fallen due (§8.2), the rest of it is an advance.
        extra = sum((s.interest for s in shares), ZERO) - billed_interest
        anchor = current or (loan.insts[-1] if loan.insts else None)
        if extra > 0 and anchor is not None and (to_date or current is None):
            items.append(OwedItem(anchor.seq, anchor.due_on, Component.INTEREST, extra))
        return items, unbilled_principal

    def _pay(self, amount: Decimal, *, kind: str, txn: int | None, event: str = "COLLECT"
             ) -> None:
        loan, t = self.loan, self.terms
        if kind == "PREPAYMENT" and t.method != "DAILY" and amount <= self._due_now():
            # What has fallen due takes all of it: it prepays nothing, so it is applied as a
            # scheduled payment — no interest to date crystallised, the period left whole
            # (§8.2; §8.4 is about what a prepayment pays beyond what is due).
            kind = "SCHEDULED"
        may_prepay = kind in ("PREPAYMENT", "PAYOFF") or t.method == "DAILY"
        self.paying_txn = txn
        items, unbilled = self.owed_items(to_date=may_prepay)
        self.paying_txn = None
        order = tuple(c for c in t.order if c in COMPONENT_FIELD) or (
            "PENALTY", "COMPOUND", "INTEREST", "PRINCIPAL")
        alloc = allocate(amount, items, order, prepayable_principal=unbilled if may_prepay else ZERO)
        if event == "SUSPENSE_APPLY":
            loan.overpaid -= alloc.applied
        for line in alloc.lines:
            self._collect(line.component.value, line.amount, line.installment or None, txn, event)
            inst = self._inst(line.installment)
            if inst is not None and line.component in (Component.PENALTY, Component.COMPOUND):
                pay_inst_penalty(inst, line.component.value, line.amount)
            elif inst is not None and line.component == Component.INTEREST:
                take = min(line.amount, inst.interest_unpaid)
                inst.interest_paid += take
                inst.dirty = True
            elif inst is not None and line.component == Component.PRINCIPAL:
                inst.principal_paid += line.amount
                inst.dirty = True
        if alloc.prepaid_principal:
            current = next(i for i in loan.insts if i.seq > loan.billed_seq)
            self._collect("PRINCIPAL", alloc.prepaid_principal, current.seq, txn, event)
            self._reamortise(alloc.prepaid_principal)
        elif (kind == "PREPAYMENT" and t.method != "DAILY" and loan.state in OPEN_STATES
              and any(i.seq > loan.billed_seq for i in loan.insts)):
            # A prepayment that pays no principal (no more than the interest to date) still
            # ends the period's first piece: the rest of the period accrues on the balance for
            # its remaining days, rounded when crystallised (§8.4, §8.6), as after any
            # prepayment — not as the period's interest less what was crystallised. Its
            # reversal restores the period like any prepayment's (loan_reversal).
            self._reamortise(ZERO)
        if alloc.overpayment and event != "SUSPENSE_APPLY":
            loan.overpaid += alloc.overpayment
            self.move(t.bank_id, "OVERPAY", "OVERPAYMENT", alloc.overpayment, None, txn)
        self._settle_instalments()

    def _due_now(self) -> Decimal:
        """What has fallen due today, without changing the loan: billed principal and interest
        unpaid, penalty and compound interest crystallised and running to today."""
        loan = self.loan
        pen_days, cmp_days = (self._penalty_amount_days(self.day)
                              if loan.penalty_from is not None else (ZERO, ZERO))
        return (sum((i.principal_unpaid + i.interest_unpaid for i in loan.insts
                     if i.seq <= loan.billed_seq), ZERO)
                + sum((s.penalty + s.compound for s in loan.shares.values()), ZERO)
                + self._penalty_of(pen_days) + self._penalty_of(cmp_days))

    def _inst(self, seq: int) -> Inst | None:
        if seq <= 0:
            return None
        return self.loan.insts[seq - 1] if seq <= len(self.loan.insts) else None

    def _collect(self, component: str, amount: Decimal, seq: int | None, txn: int | None,
                 event: str) -> None:
        attr = COMPONENT_FIELD[component]
        loan = self.loan
        balances = {fid: getattr(s, attr) for fid, s in loan.shares.items()}
        parts = split_principal(amount, balances, loan.residual)
        guarantor = self.terms.guarantor_id
        for fid, part in parts.items():
            if not part:
                continue
            s = loan.shares[fid]
            setattr(s, attr, getattr(s, attr) - part)
            ev = event
            if fid == guarantor and event in ("COLLECT", "SUSPENSE_APPLY"):
                # The guarantor's share after a claim: borrower money routed to the guarantor.
                ev = "RECOVERY" if event == "COLLECT" else "SUSP_RECOVERY"
            self.move(fid, ev, component, part, seq, txn)

    def _reamortise(self, prepaid: Decimal) -> None:
        """Re-amortise the unbilled instalments after `prepaid` principal came early."""
        loan, t, day = self.loan, self.terms, self.day
        unbilled = [i for i in loan.insts if i.seq > loan.billed_seq]
        current = unbilled[0]
        current.principal_paid += prepaid
        current.dirty = True
        remaining = sum((i.principal_unpaid for i in unbilled), ZERO)
        if t.method == "DAILY":
            if loan.accrual_to is not None and loan.accrual_to > day:
                loan.accrual_amount = (remaining * t.annual_rate * (loan.accrual_to - day).days
                                       / t.year_days).quantize(TEN_PLACES)
            return
        already = current.interest_due - q2(loan.accrual_amount)  # crystallised this period
        if remaining == 0:
            for i in unbilled:
                i.principal_due = i.principal_paid
                i.interest_due = i.interest_paid if i is not current else already
                i.dirty = True
            loan.accrual_amount = Decimal(0)
            return
        new = build_schedule(remaining, t.annual_rate, len(unbilled), t.method, day,
                             current.due_on, t.day_count, regular_first=True).installments
        # The rest of this period on the new balance: a month's interest × rest / period days,
        # or the actual days of an irregular first period (§8.4, §8.5).
        loan.accrual_amount = self._rest_interest(remaining, current, day).quantize(TEN_PLACES)
        current.interest_due = already + q2(loan.accrual_amount)
        current.principal_due = current.principal_paid + new[0].principal
        for i, row in zip(unbilled[1:], new[1:], strict=True):
            i.principal_due = i.principal_paid + row.principal
            i.interest_due = row.interest
            i.dirty = True

    def _settle_instalments(self) -> None:
        loan = self.loan
        oldest = None
        for i in loan.insts:
            if i.seq > loan.billed_seq:
                break
            if i.principal_unpaid == 0 and i.interest_unpaid == 0:
                if i.status != "PAID":
                    i.status, i.paid_on, i.dirty = "PAID", self.day, True
            elif oldest is None:
                oldest = i.due_on
        loan.oldest_unpaid_due_on = oldest
        if loan.penalty_from is not None:
            self._penalty_bases(loan.penalty_from)
        if all(not (s.principal or s.interest or s.penalty or s.compound)
               for s in loan.shares.values()) and loan.state in OPEN_STATES:
            loan.state, loan.closed_on = "PAID_OFF", self.day
            loan.dpd = 0  # DOMAIN §8.9: DPD 0 and class normal from the payoff day
            loan.accrual_from = loan.accrual_to = None
            loan.accrual_amount = Decimal(0)
            loan.penalty_from = loan.next_penalty_on = None
            loan.penalty_base = loan.compound_base = ZERO
            for i in loan.insts:
                if i.seq > loan.billed_seq or i.status != "PAID":
                    i.principal_due, i.interest_due = i.principal_paid, i.interest_paid
                    i.status, i.paid_on, i.dirty = "PAID", self.day, True

    def refund_if_closed(self, txn: int | None) -> None:
        """DOMAIN §8.8: an advance left when the loan closes (paid off or written off) is owed
        back to the borrower through the partner: a REFUND line on its statement."""
        loan = self.loan
        if loan.overpaid > 0 and loan.state in CLOSED_STATES:
            self.move(self.terms.bank_id, "REFUND", "OVERPAYMENT", loan.overpaid, None, txn)
            loan.overpaid = ZERO

    def mark_instalments(self) -> None:
        """Billed, unpaid instalments: DUE on their due date (and grace), OVERDUE after."""
        grace = self.terms.grace_days
        for i in self.loan.insts:
            if i.seq > self.loan.billed_seq:
                break
            if i.status != "PAID" and (i.principal_unpaid or i.interest_unpaid):
                status = "OVERDUE" if self.day > _plus_days(i.due_on, grace) else "DUE"
                if i.status != status:
                    i.status, i.dirty = status, True
