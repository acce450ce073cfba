"""One loan's business day, as pure functions over plain state (no Django, no I/O, no clock).

Part of the domain (issue 20): built on the domain's schedule, day count, penalty, waterfall
and split; lending.settlement.steps loads the state, runs `loan_day` and writes it back.

The settlement chunk loads the loans that something happens to on day D (a repayment or a
reversal, an instalment falling due, an instalment entering the penalty base, an aging
threshold), runs `loan_day` on each, and writes back the changed state and the movements.
Everything that merely accrues with time is *derived* (see lending/sql/positions.sql): between
events a loan's row does not change. At an event the engine crystallises what has accrued since
the anchors into the share balances, with exactly the arithmetic the SQL uses, so the derived
position is continuous and the day's GL posting can be the delta against what is posted.

Decisions (where the brief leaves a choice):
- A SCHEDULED payment pays what has fallen due (penalty, compound, then oldest instalment
  first, by the program's order); more is an overpayment held in suspense, applied
  automatically when the next instalment falls due. PREPAYMENT and PAYOFF also pay the
  interest accrued to date and then principal; DAILY (随借随还) loans always may.
- A partial prepayment re-amortises the remaining principal over the remaining instalments
  (the current period's interest: accrued to date on the old balance, then the rest of the
  period on the new one; the period starts at disbursement or the previous due date, DOMAIN
  §8.4, and an irregular first period counts actual days, §8.5).
- Each allocated component is split between funders by their current balances of that
  component (so a full repayment clears every share); what is billed or crystallised is
  split by the share weights (interest rule, penalty rule) at that moment.
- A guarantor payment (payer GUARANTOR, 代偿) buys the bank's share (claim scope): the covered
  balances move to a guarantor share; later borrower money on that share is a RECOVERY routed
  to the guarantor. A payment on a written-off loan is a recovery split by written-off amounts.
- Penalty starts after the grace days (not retroactive); the due date itself is not overdue.
- A billed instalment not fully paid is DUE on its due date (and grace) and OVERDUE after; the
  status is set whenever the engine processes the loan (the loan's DPD is the authority).
- A claim buys the bank's share at principal + billed interest (DOMAIN §3.6): interest of the
  running period accrued to the claim day is not bought; it accrues to the guarantor, whose
  weights replace the bank's, so the bank's accrued part leaves income by the accrual delta.
- A guarantor's money beyond what the bank's share still holds (the borrower paid first that
  day, or the claim was already paid) is CLAIM_EXCESS, owed back to the guarantor, never
  borrower suspense (DOMAIN §7.1: no double recovery). Suspense that later pays the
  guarantor's share is routed to the guarantor (SUSP_RECOVERY), like a RECOVERY.
- A reversal restores the loan as if the payment had never been made (DOMAIN §8.3): the
  instalments it paid are unpaid again; a PREPAYMENT's or PAYOFF's principal returns to the
  schedule (the original rows when nothing else moved them, else re-amortised over the
  instalments not yet billed), a paid-off loan reopens and bills what fell due meanwhile, the
  period accrues again; penalty and compound interest on what is unpaid again run from its due
  date + grace (or from the day it was paid, to which they had been charged), crystallised on
  the reversal day.
- A loan paid off has DPD 0 (and class normal, set by the day's aging) from that day; a
  written-off loan keeps the DPD and class of its write-off day (§8.9).
- Write-off writes off every share's crystallised balances; accrued interest and penalty leave
  income through the accrual delta; a later recovery is split by the open written-off amounts.
- A claim payment is reversible only while the guarantor's share still holds what the claim
  bought; after recoveries on it the reversal is quarantined NOT_REVERSIBLE (reverse the
  recoveries first), never leaving a share negative.
- Known limits of the restore: when another prepayment still stands, the reversed one's
  principal is re-amortised over the instalments not yet billed (an instalment billed since
  keeps its reduced row), and the period's interest continues piecewise from the last
  crystallisation (within a cent of the direct figure). The original's business date stands
  for the day it was paid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from .aging import days_past_due
from .claim import ClaimScope, claim_amount
from .daycount import DayCount, year_days
from .money import CENT, ZERO, q2
from .penalty import penalty_for_days
from .schedule import build_schedule, first_period_interest, is_regular_first_period
from .split import split_principal, weighted_parts
from .waterfall import Component, OwedItem, allocate

TEN_PLACES = Decimal("1E-10")


class LoanStatus(StrEnum):
    """A loan's state (lending.models.LoanState stores these values)."""

    ACTIVE = "ACTIVE"
    OVERDUE = "OVERDUE"
    CLAIMED = "CLAIMED"
    PAID_OFF = "PAID_OFF"
    WRITTEN_OFF = "WRITTEN_OFF"


OPEN_STATES = (LoanStatus.ACTIVE, LoanStatus.OVERDUE, LoanStatus.CLAIMED)  # it still accrues
CLOSED_STATES = (LoanStatus.PAID_OFF, LoanStatus.WRITTEN_OFF)  # absent from balances files
# A repayment for a loan in these states is refused (LOAN_CLOSED); a written-off loan still
# takes money: a recovery after 核销 (DOMAIN §7.10).
NO_PAYMENT_STATES = (LoanStatus.PAID_OFF,)
COMPONENT_FIELD = {
    "PRINCIPAL": "principal", "INTEREST": "interest", "PENALTY": "penalty",
    "COMPOUND": "compound",
}
__all__ = ["CENT", "CLOSED_STATES", "NO_PAYMENT_STATES", "OPEN_STATES", "Event", "LoanStatus", "Inst", "LoanState", "Share", "Terms", "loan_day", "q2",
           "weighted_parts"]


@dataclass(slots=True)
class Terms:
    """What the engine needs of the program and agreement version of a loan."""

    annual_rate: Decimal
    method: str
    day_count: str
    penalty_multiplier: Decimal
    grace_days: int
    order: tuple[str, ...]
    claim_trigger_dpd: int | None
    claim_scope: str
    write_off_dpd: int | None
    interest_rule: str
    bank_id: int
    guarantor_id: int | None
    bank_yield: Decimal | None

    @property
    def year_days(self) -> int:
        return year_days(DayCount(self.day_count))


@dataclass(slots=True)
class Share:
    funder_id: int
    principal: Decimal
    interest: Decimal
    penalty: Decimal
    compound: Decimal
    accrual_weight: Decimal
    penalty_weight: Decimal
    is_residual: bool
    funded: Decimal
    claimed: Decimal = ZERO
    written_off: Decimal = ZERO
    recovered: Decimal = ZERO
    new: bool = False


@dataclass(slots=True)
class Inst:
    seq: int
    due_on: date
    principal_due: Decimal
    interest_due: Decimal
    principal_paid: Decimal
    interest_paid: Decimal
    status: str = "PENDING"
    paid_on: date | None = None
    dirty: bool = False

    @property
    def principal_unpaid(self) -> Decimal:
        return self.principal_due - self.principal_paid

    @property
    def interest_unpaid(self) -> Decimal:
        return self.interest_due - self.interest_paid


@dataclass(slots=True)
class LoanState:
    id: int
    program_id: int
    state: str
    accruing: bool
    overpaid: Decimal
    accrual_from: date | None
    accrual_to: date | None
    accrual_amount: Decimal
    billed_seq: int
    penalty_from: date | None
    penalty_base: Decimal
    compound_base: Decimal
    oldest_unpaid_due_on: date | None
    next_penalty_on: date | None
    claim_raised_on: date | None
    claimed_on: date | None
    written_off_on: date | None
    closed_on: date | None
    dpd: int
    shares: dict[int, Share]
    insts: list[Inst]
    disbursed_on: date | None = None  # the start of period 1 (DOMAIN §8.4)
    principal: Decimal | None = None  # as disbursed: the original schedule (§8.3)

    @property
    def residual(self) -> int:
        return next(fid for fid, s in self.shares.items() if s.is_residual)


@dataclass(slots=True)
class Event:
    """A staged repayment (amount > 0) or reversal for this loan, in file order."""

    txn_id: int
    kind: str  # SCHEDULED | PREPAYMENT | PAYOFF | REVERSAL
    amount: Decimal
    payer: str = "BORROWER"
    original: tuple = ()  # a reversal: the original repayment's movement rows
    original_txn_id: int | None = None
    original_on: date | None = None  # a reversal: the value date the original was applied at
    value_on: date | None = None  # a repayment's paid_on (DOMAIN §8.11); None: the business day


# A movement: (loan_id, funder_id, event, component, amount, installment_seq, txn_id, reversal,
# accruing)
Movement = tuple


@dataclass(slots=True)
class DayResult:
    movements: list[Movement] = field(default_factory=list)
    rejects: list[tuple[int, str, str, str]] = field(default_factory=list)  # txn, code, col, msg
    claim_raised: tuple | None = None  # (principal, interest, penalty, amount)
    claim_paid: Decimal = ZERO
    applied_txns: list[int] = field(default_factory=list)


class _Day:
    """The working context of one loan's day."""

    def __init__(self, loan: LoanState, terms: Terms, day: date, out: DayResult):
        self.loan, self.terms, self.day, self.out = loan, terms, day, out

    # -- movements -------------------------------------------------------------------------
    def move(self, funder: int, event: str, component: str, amount: Decimal,
             seq: int | None = None, txn: int | None = None, reversal: bool = False) -> None:
        if amount:
            self.out.movements.append((self.loan.id, funder, event, component, amount, seq, txn,
                                       reversal, self.loan.accruing))

    # -- accrual -----------------------------------------------------------------------------
    def crystallise_interest(self, until: date) -> None:
        """Move the interest accrued from the anchor to `until` into the share balances."""
        loan = self.loan
        if loan.accrual_from is None or loan.accrual_to is None or until <= loan.accrual_from:
            return
        period = (loan.accrual_to - loan.accrual_from).days
        if period <= 0:
            return
        elapsed = min((until - loan.accrual_from).days, period)
        amount = q2(loan.accrual_amount * elapsed / period)
        if amount:
            self._add_by_weights(amount, "interest", "accrual_weight")
            self._fee(amount, elapsed, full_period=elapsed == period and self._regular_current())
        loan.accrual_amount = (loan.accrual_amount - amount).quantize(TEN_PLACES)
        loan.accrual_from = min(until, loan.accrual_to)

    def _regular_current(self) -> bool:
        """Whether the running period is a whole month (only the first may not be, §8.5)."""
        loan = self.loan
        if loan.billed_seq > 0 or not loan.insts or loan.disbursed_on is None:
            return True
        return is_regular_first_period(loan.disbursed_on, loan.insts[0].due_on)

    def _fee(self, amount: Decimal, days: int, *, full_period: bool) -> None:
        """BANK_FIXED_YIELD: the bank's gross share above its yield is a service fee."""
        t = self.terms
        bank = self.loan.shares.get(t.bank_id)
        if t.interest_rule != "BANK_FIXED_YIELD" or not t.bank_yield or bank is None:
            return
        gross = weighted_parts(amount, self._weights("accrual_weight"), self.loan.residual)
        if t.method in ("EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL") and full_period:
            entitled = q2(bank.principal * t.bank_yield / 12)
        else:
            entitled = q2(bank.principal * t.bank_yield * days / t.year_days)
        fee = gross.get(t.bank_id, ZERO) - entitled
        if fee > 0:
            self.move(t.bank_id, "FEE", "FEE", fee)

    def crystallise_penalty(self, until: date) -> None:
        loan, t = self.loan, self.terms
        if loan.penalty_from is not None and until > loan.penalty_from:
            days = (until - loan.penalty_from).days
            basis = DayCount(t.day_count)
            pen = penalty_for_days(loan.penalty_base, t.annual_rate, days,
                                   t.penalty_multiplier, basis)
            cmp_ = penalty_for_days(loan.compound_base, t.annual_rate, days,
                                    t.penalty_multiplier, basis)
            if pen:
                self._add_by_weights(pen, "penalty", "penalty_weight")
            if cmp_:
                self._add_by_weights(cmp_, "compound", "penalty_weight")
        loan.penalty_from = until
        self._penalty_bases(until)

    def _penalty_bases(self, at: date) -> None:
        """Bases = unpaid principal / interest of billed instalments past due + grace at `at`."""
        loan, grace = self.loan, self.terms.grace_days
        base = cbase = ZERO
        nxt = None
        for i in loan.insts:
            if i.seq > loan.billed_seq or (not i.principal_unpaid and not i.interest_unpaid):
                continue
            start = _plus_days(i.due_on, grace)
            if start <= at:
                base += i.principal_unpaid
                cbase += i.interest_unpaid
            elif nxt is None or start < nxt:
                nxt = start
        loan.penalty_base, loan.compound_base, loan.next_penalty_on = base, cbase, nxt

    def _weights(self, attr: str) -> dict[int, Decimal]:
        return {fid: getattr(s, attr) for fid, s in self.loan.shares.items()}

    def _add_by_weights(self, amount: Decimal, balance: str, weight_attr: str) -> None:
        parts = weighted_parts(amount, self._weights(weight_attr), self.loan.residual)
        for fid, part in parts.items():
            s = self.loan.shares[fid]
            setattr(s, balance, getattr(s, balance) + part)

    # -- billing -----------------------------------------------------------------------------
    def advance(self) -> None:
        """Bill instalments that fell due and grow the penalty base, in date order, to today."""
        loan, day = self.loan, self.day
        if loan.state not in OPEN_STATES:
            return
        while True:
            nxt = self._inst(loan.billed_seq + 1)
            bill_on = nxt.due_on if nxt is not None and nxt.due_on <= day else None
            pen_on = loan.next_penalty_on
            if pen_on is not None and pen_on >= day:
                pen_on = None
            if bill_on is None and pen_on is None:
                return
            if pen_on is not None and (bill_on is None or pen_on < bill_on):
                self.crystallise_penalty(pen_on)
            else:
                self._bill(nxt)

    def _bill(self, inst: Inst) -> None:
        loan = self.loan
        if loan.penalty_from is not None:
            self.crystallise_penalty(inst.due_on)
        self.crystallise_interest(inst.due_on)
        loan.billed_seq = inst.seq
        nxt = next((i for i in loan.insts if i.seq == inst.seq + 1), None)
        if nxt is not None and self.terms.method != "DAILY":
            loan.accrual_from, loan.accrual_to = inst.due_on, nxt.due_on
            loan.accrual_amount = nxt.interest_due - nxt.interest_paid
        else:
            loan.accrual_from = loan.accrual_to = None
            loan.accrual_amount = Decimal(0)
        if loan.oldest_unpaid_due_on is None and (inst.principal_unpaid or inst.interest_unpaid):
            loan.oldest_unpaid_due_on = inst.due_on
        self._penalty_bases(loan.penalty_from or inst.due_on)
        if loan.penalty_from is None:
            loan.penalty_from = inst.due_on

    # -- payments ----------------------------------------------------------------------------
    def owed_items(self, *, to_date: bool) -> tuple[list[OwedItem], Decimal]:
        """What is owed now (penalties, billed instalments, crystallised current interest)."""
        loan = self.loan
        if to_date or self.terms.method == "DAILY":
            self.crystallise_interest(self.day)
        if loan.penalty_from is not None:
            self.crystallise_penalty(self.day)
        oldest = loan.oldest_unpaid_due_on or self.day
        shares = loan.shares.values()
        items: list[OwedItem] = []
        pen = sum((s.penalty for s in shares), ZERO)
        cmp_ = sum((s.compound for s in shares), ZERO)
        if pen:
            items.append(OwedItem(0, oldest, Component.PENALTY, pen))
        if cmp_:
            items.append(OwedItem(0, oldest, Component.COMPOUND, cmp_))
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
        may_prepay = kind in ("PREPAYMENT", "PAYOFF") or t.method == "DAILY"
        items, unbilled = self.owed_items(to_date=may_prepay)
        order = tuple(c for c in t.order if c in COMPONENT_FIELD) or (
            "PENALTY", "COMPOUND", "INTEREST", "PRINCIPAL")
        alloc = allocate(amount, items, order, prepayable_principal=unbilled if may_prepay else ZERO)
        if event == "SUSPENSE_APPLY":
            loan.overpaid -= alloc.applied
        for line in alloc.lines:
            self._collect(line.component.value, line.amount, line.installment or None, txn, event)
            inst = self._inst(line.installment)
            if inst is not None and line.component == Component.INTEREST:
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
        if alloc.overpayment and event != "SUSPENSE_APPLY":
            loan.overpaid += alloc.overpayment
            self.move(t.bank_id, "OVERPAY", "OVERPAYMENT", alloc.overpayment, None, txn)
        self._settle_instalments()

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

    # -- claims (代偿) and write-off ---------------------------------------------------------
    def claim_payment(self, amount: Decimal, txn: int) -> None:
        loan, t = self.loan, self.terms
        gid = t.guarantor_id
        bank = loan.shares.get(t.bank_id)
        if loan.penalty_from is not None:
            self.crystallise_penalty(self.day)
        components = ["INTEREST", "PRINCIPAL"]
        if t.claim_scope == ClaimScope.PRINCIPAL_INTEREST_PENALTY:
            components = ["PENALTY", "COMPOUND", *components]
        left = amount
        covered: dict[str, Decimal] = {}
        for comp in components:
            attr = COMPONENT_FIELD[comp]
            take = min(left, getattr(bank, attr))
            if take:
                covered[comp] = take
                left -= take
        g = loan.shares.get(gid)
        if g is None:
            g = Share(gid, ZERO, ZERO, ZERO, ZERO, Decimal(0), Decimal(0), False, ZERO, new=True)
            loan.shares[gid] = g
        seq = loan.billed_seq or None
        for comp, amt in covered.items():
            attr = COMPONENT_FIELD[comp]
            setattr(bank, attr, getattr(bank, attr) - amt)
            setattr(g, attr, getattr(g, attr) + amt)
            self.move(t.bank_id, "CLAIM", comp, amt, seq, txn)
            self.move(gid, "CLAIM_IN", comp, amt, seq, txn)
        g.funded += covered.get("PRINCIPAL", ZERO)
        paid = amount - left
        bank.claimed += paid
        self.out.claim_paid += paid
        if not bank.principal and not bank.interest:
            # The bank's share is closed: what the claim did not pay for (penalty outside the
            # claim scope) goes to the guarantor with the rest, without cash.
            for comp in ("PENALTY", "COMPOUND"):
                attr = COMPONENT_FIELD[comp]
                amt = getattr(bank, attr)
                if amt:
                    setattr(bank, attr, ZERO)
                    setattr(g, attr, getattr(g, attr) + amt)
                    self.move(t.bank_id, "TRANSFER_OUT", comp, amt, seq, txn)
                    self.move(gid, "TRANSFER_IN", comp, amt, seq, txn)
            g.accrual_weight += bank.accrual_weight
            g.penalty_weight += bank.penalty_weight
            bank.accrual_weight = bank.penalty_weight = Decimal(0)
            loan.state, loan.claimed_on = "CLAIMED", self.day
        if left:
            # More than the bank's share still holds (the borrower paid earlier that day, or
            # the claim was already paid): the guarantor's money, owed back to the guarantor,
            # never the borrower's suspense (no double recovery, DOMAIN §7.1).
            self.move(t.bank_id, "CLAIM_EXCESS", "OVERPAYMENT", left, None, txn)

    def raise_claim(self) -> None:
        t, loan = self.terms, self.loan
        bank = loan.shares.get(t.bank_id)
        if bank is None or not bank.principal:
            return
        # DOMAIN §3.6: the bank share's principal + its billed (crystallised) interest, and under
        # PRINCIPAL_INTEREST_PENALTY its penalty and compound interest; unbilled accrual is not
        # bought.
        self.out.claim_raised = tuple(claim_amount(
            principal=bank.principal, due_unpaid_interest=bank.interest, penalty=bank.penalty,
            compound=bank.compound, scope=t.claim_scope))
        loan.claim_raised_on = self.day

    def write_off(self) -> None:
        loan = self.loan
        if loan.penalty_from is not None:
            self.crystallise_penalty(self.day)
        self.crystallise_interest(self.day)
        for fid, s in loan.shares.items():
            total = ZERO
            for comp, attr in COMPONENT_FIELD.items():
                amt = getattr(s, attr)
                if amt:
                    self.move(fid, "WRITE_OFF", comp, amt)
                    setattr(s, attr, ZERO)
                    total += amt
            s.written_off += total
        loan.state, loan.written_off_on = "WRITTEN_OFF", self.day
        loan.accrual_from = loan.accrual_to = None
        loan.accrual_amount = Decimal(0)
        loan.penalty_from = loan.next_penalty_on = None
        loan.penalty_base = loan.compound_base = ZERO

    def write_off_recovery(self, amount: Decimal, txn: int) -> None:
        loan = self.loan
        open_ = {fid: s.written_off - s.recovered for fid, s in loan.shares.items()}
        total = sum(open_.values(), ZERO)
        take = min(amount, total)
        if take:
            for fid, part in split_principal(take, open_, loan.residual).items():
                if part:
                    loan.shares[fid].recovered += part
                    self.move(fid, "WO_RECOVERY", "PRINCIPAL", part, None, txn)
        if amount - take:
            loan.overpaid += amount - take
            self.move(self.terms.bank_id, "OVERPAY", "OVERPAYMENT", amount - take, None, txn)

    # -- reversal (冲正) ------------------------------------------------------------------------
    def reverse(self, event: Event) -> None:
        """Undo a repayment with its original split amounts, every movement negated, and restore
        the loan as if the payment had never been made (DOMAIN §8.3): the instalments it paid
        are unpaid again, a PREPAYMENT's or PAYOFF's principal goes back into the schedule
        (the original rows when nothing else changed it, else re-amortised), interest accrues
        again from where the payment stopped it, and penalty and compound interest on what is
        unpaid again run from its due date (+ grace), crystallised on the reversal day."""
        loan, t = self.loan, self.terms
        was_paid_off = loan.state == "PAID_OFF"
        paid_day = event.original_on or (loan.closed_on if was_paid_off else None) or self.day
        anchor = loan.accrual_from if loan.accrual_from is not None else paid_day
        if loan.penalty_from is not None:
            self.crystallise_penalty(self.day)
        before = {i.seq: (i.principal_unpaid, i.interest_unpaid)
                  for i in loan.insts if i.seq <= loan.billed_seq}
        prepaid_seqs: set[int] = set()
        for (_lid, fid, ev, comp, amount, seq, _txn, _rev, _acc) in event.original:
            share = loan.shares.get(fid)
            if ev in ("COLLECT", "RECOVERY", "SUSPENSE_APPLY", "SUSP_RECOVERY"):
                attr = COMPONENT_FIELD[comp]
                setattr(share, attr, getattr(share, attr) + amount)
                inst = self._inst(seq or 0)
                if inst is not None:
                    if comp == "PRINCIPAL":
                        inst.principal_paid -= amount
                        if paid_day < inst.due_on:  # prepaid: it had been added to the row
                            inst.principal_due -= amount
                            prepaid_seqs.add(inst.seq)
                    elif comp == "INTEREST":
                        inst.interest_paid -= min(amount, inst.interest_paid)
                    inst.dirty = True
                    if inst.seq <= loan.billed_seq:
                        inst.status, inst.paid_on = "DUE", None
            elif ev == "OVERPAY":
                loan.overpaid -= amount
            elif ev == "REFUND":  # the advance refunded at closing is held again
                loan.overpaid += amount
            elif ev in ("CLAIM", "CLAIM_IN", "TRANSFER_OUT", "TRANSFER_IN"):
                attr = COMPONENT_FIELD[comp]
                sign = 1 if ev in ("CLAIM", "TRANSFER_OUT") else -1
                setattr(share, attr, getattr(share, attr) + sign * amount)
                if ev == "CLAIM":
                    share.claimed -= amount
                    self.out.claim_paid -= amount
            elif ev == "WO_RECOVERY":
                share.recovered -= amount
            self.out.movements.append((loan.id, fid, ev, comp, -amount, seq, event.txn_id, True,
                                       loan.accruing))
        if loan.state == "CLAIMED" and loan.shares[t.bank_id].principal:
            g = loan.shares.get(t.guarantor_id)
            bank = loan.shares[t.bank_id]
            if g is not None:
                bank.accrual_weight, g.accrual_weight = g.accrual_weight, Decimal(0)
                bank.penalty_weight, g.penalty_weight = g.penalty_weight, Decimal(0)
            loan.state, loan.claimed_on = "ACTIVE", None
        if was_paid_off:
            loan.state, loan.closed_on = "ACTIVE", None
        if loan.state in OPEN_STATES and (prepaid_seqs or was_paid_off):
            self._restore_schedule(min(prepaid_seqs, default=loan.billed_seq + 1), anchor)
            # Bill what fell due while the loan stood closed, then the interest of the running
            # period accrued since the payment is crystallised today (penalty follows below).
            loan.penalty_from = None
            while (nxt := self._inst(loan.billed_seq + 1)) is not None and nxt.due_on <= self.day:
                self._bill(nxt)
                loan.penalty_from = None
            self.crystallise_interest(self.day)
        self._penalty_since_due(before, paid_day)
        for i in loan.insts:
            if i.seq <= loan.billed_seq and i.status == "DUE" and not (
                i.principal_unpaid or i.interest_unpaid
            ):
                i.status = "PAID"
        loan.penalty_from = self.day
        self._settle_instalments()
        if loan.oldest_unpaid_due_on is None and loan.next_penalty_on is None:
            loan.penalty_from = None
        else:
            self._penalty_bases(self.day)

    def _penalty_since_due(self, before: dict[int, tuple[Decimal, Decimal]],
                           paid_day: date) -> None:
        """Penalty and compound interest on what the reversal made unpaid again, from its due
        date + grace (or from the day it was paid, to which penalty had already been charged)
        to today, crystallised once (DOMAIN §8.3, §8.6)."""
        loan, t = self.loan, self.terms
        pen_days = cmp_days = ZERO
        for i in loan.insts:
            if i.seq > loan.billed_seq:
                break
            was_p, was_i = before.get(i.seq, (ZERO, ZERO))
            start = max(paid_day, _plus_days(i.due_on, t.grace_days))
            days = (self.day - start).days
            if days > 0:
                pen_days += max(i.principal_unpaid - was_p, ZERO) * days
                cmp_days += max(i.interest_unpaid - was_i, ZERO) * days
        if pen_days or cmp_days:
            pen = penalty_for_days(pen_days, t.annual_rate, 1, t.penalty_multiplier, t.day_count)
            cmp_ = penalty_for_days(cmp_days, t.annual_rate, 1, t.penalty_multiplier,
                                    t.day_count)
            if pen:
                self._add_by_weights(pen, "penalty", "penalty_weight")
            if cmp_:
                self._add_by_weights(cmp_, "compound", "penalty_weight")

    def _restore_schedule(self, first_seq: int, anchor: date) -> None:
        """Put the principal a reversed PREPAYMENT or PAYOFF took back into the schedule from
        instalment `first_seq` on, and restart the running period's accrual at `anchor`."""
        loan, t = self.loan, self.terms
        outstanding = sum((s.principal for s in loan.shares.values()), ZERO)
        for i in loan.insts:
            if i.seq > loan.billed_seq:
                i.status, i.paid_on, i.dirty = "PENDING", None, True
        current = self._inst(loan.billed_seq + 1)
        if t.method == "DAILY":
            if current is not None:
                billed = sum((i.principal_unpaid for i in loan.insts if i is not current), ZERO)
                current.principal_due = current.principal_paid + outstanding - billed
                loan.accrual_from, loan.accrual_to = anchor, current.due_on
                loan.accrual_amount = (outstanding * t.annual_rate
                                       * max((current.due_on - anchor).days, 0)
                                       / year_days(t.day_count)).quantize(TEN_PLACES)
            return
        rows = [i for i in loan.insts if i.seq >= first_seq]
        earlier_unpaid = sum((i.principal_unpaid for i in loan.insts if i.seq < first_seq), ZERO)
        target = outstanding - earlier_unpaid + sum((i.principal_paid for i in rows), ZERO)
        original = None
        if loan.principal is not None and loan.disbursed_on is not None:
            original = build_schedule(loan.principal, t.annual_rate, len(loan.insts), t.method,
                                      loan.disbursed_on, loan.insts[0].due_on,
                                      t.day_count).installments
        # The original rows fit when nothing else moved principal: no row holds more paid
        # principal than its original amount (a standing prepayment leaves a lump) and the
        # rows add up to what they must carry.
        reamortised = not (
            original is not None
            and all(i.principal_paid <= original[i.seq - 1].principal for i in rows)
            # a prepayment that still stands has paid principal of a row not yet billed
            and not any(i.principal_paid for i in rows if i.seq > loan.billed_seq)
            and sum((original[i.seq - 1].principal for i in rows), ZERO) == target)
        if not reamortised:
            # Nothing else moved these rows' principal: they are the original schedule's.
            for i in rows:
                row = original[i.seq - 1]
                if i.seq <= loan.billed_seq and row.interest != i.interest_due:
                    # billed on a lower balance: the difference is owed as if never prepaid
                    self._add_by_weights(row.interest - i.interest_due, "interest",
                                         "accrual_weight")
                i.principal_due, i.interest_due, i.dirty = row.principal, row.interest, True
        else:  # other prepayments stand: re-amortise what is not yet billed
            if current is None:
                last = loan.insts[-1]
                last.principal_due += outstanding - sum(
                    (i.principal_unpaid for i in loan.insts), ZERO)
                last.dirty = True
                return
            unbilled = [i for i in loan.insts if i.seq > loan.billed_seq]
            remaining = outstanding - sum(
                (i.principal_unpaid for i in loan.insts if i.seq <= loan.billed_seq), ZERO)
            if remaining > 0:
                new = build_schedule(remaining, t.annual_rate, len(unbilled), t.method, anchor,
                                     current.due_on, t.day_count,
                                     regular_first=True).installments
                for i, row in zip(unbilled, new, strict=True):
                    i.principal_due = i.principal_paid + row.principal
                    i.interest_due = row.interest
            else:  # what the reversal reopened is all billed: the later rows stay prepaid
                for i in unbilled:
                    i.principal_due, i.interest_due = i.principal_paid, i.interest_paid
        if current is None:
            loan.accrual_from = loan.accrual_to = None
            loan.accrual_amount = Decimal(0)
            return
        billed_interest = sum((i.interest_unpaid for i in loan.insts
                               if i.seq <= loan.billed_seq), ZERO)
        crystallised = sum((s.interest for s in loan.shares.values()), ZERO) - billed_interest
        if not reamortised and not current.interest_paid:
            # Exactly as if never paid: the period accrues from its start again, and what had
            # been crystallised of it goes back into the derived accrual (no movement: the GL
            # follows the derived position; the reversal day crystallises it again at once).
            parts = weighted_parts(crystallised, self._weights("accrual_weight"), loan.residual)
            if all(loan.shares[f].interest >= p >= 0 for f, p in parts.items()):
                for f, p in parts.items():
                    loan.shares[f].interest -= p
                anchor, crystallised = _period_start(loan, current), ZERO
        if reamortised:  # the period so far + the rest on the restored balance
            remaining = sum((i.principal_unpaid for i in loan.insts
                             if i.seq > loan.billed_seq), ZERO)
            current.interest_due = current.interest_paid + crystallised + q2(
                self._rest_interest(remaining, current, anchor))
        loan.accrual_from, loan.accrual_to = anchor, current.due_on
        # what the period still accrues: its interest less what is paid or crystallised
        loan.accrual_amount = max(current.interest_due - current.interest_paid - crystallised,
                                  ZERO)

    def _rest_interest(self, balance: Decimal, current: Inst, frm: date) -> Decimal:
        """Unrounded interest of `balance` from `frm` to the end of `current`'s period
        (DOMAIN §8.4: the period starts at disbursement or the previous due date; §8.5)."""
        t = self.terms
        start = _period_start(self.loan, current)
        if t.method == "INTEREST_FIRST":
            # the period's actual-day interest on the balance, as the schedule bills it, for
            # the rest of its days (the same shape as a month's interest below)
            full = (current.due_on - start).days or 1
            rest = max((current.due_on - frm).days, 0)
            return q2(first_period_interest(balance, t.annual_rate, start, current.due_on,
                                            t.day_count)) * rest / full
        if current.seq == 1 and not is_regular_first_period(start, current.due_on):
            return first_period_interest(balance, t.annual_rate, frm, current.due_on,
                                         t.day_count)
        full = (current.due_on - start).days or 1
        rest = max((current.due_on - frm).days, 0)
        return q2(balance * t.annual_rate / 12) * rest / full


# A repayment's movements that are not its money: the guarantor's side of a claim, the share
# closed by it, and the advance refunded when it closed the loan.
_NOT_PAID_IN = frozenset({"CLAIM_IN", "TRANSFER_IN", "TRANSFER_OUT", "REFUND"})


def _guarantor_moved(loan: LoanState, event: Event) -> bool:
    """A claim payment can only be undone while the guarantor still holds what it bought."""
    for (_lid, fid, ev, comp, amount, *_rest) in event.original:
        if ev in ("CLAIM_IN", "TRANSFER_IN"):
            share = loan.shares.get(fid)
            if share is None or getattr(share, COMPONENT_FIELD[comp]) < amount:
                return True
    return False


def _plus_days(d: date, n: int) -> date:
    return date.fromordinal(d.toordinal() + n)


def _period_start(loan: LoanState, current: Inst) -> date:
    """The start of the instalment's period: the previous due date, or the disbursement for
    the first (DOMAIN §8.4: never the day of a prepayment, which moves the accrual anchor)."""
    if current.seq > 1:
        return loan.insts[current.seq - 2].due_on
    if loan.disbursed_on is None:
        raise ValueError(f"loan {loan.id}: the first period needs the disbursement date")
    return loan.disbursed_on


def loan_day(loan: LoanState, terms: Terms, day: date, events: list[Event]) -> DayResult:
    """Everything that happens to one loan on `day`: billing, events, aging transitions.

    A payment counts from its value date (DOMAIN §8.11): the loan is brought forward to each
    event's `value_on` (billing what fell due, penalty to that day, suspense applied) and the
    event applied there; reversals count on the business day. Events keep file order within
    a value date."""
    out = DayResult()
    ctx = _Day(loan, terms, day, out)
    at: list[date | None] = [None]

    def bring_to(on: date) -> None:
        if at[0] == on:
            return
        at[0] = ctx.day = on
        ctx.advance()
        if loan.overpaid > 0 and loan.state in OPEN_STATES and loan.oldest_unpaid_due_on:
            # Money held in suspense pays what has fallen due (and nothing early).
            ctx._pay(loan.overpaid, kind="SCHEDULED", txn=None, event="SUSPENSE_APPLY")
            ctx.refund_if_closed(None)

    def value_date(ev: Event) -> date:
        if ev.kind == "REVERSAL" or ev.value_on is None:
            return day
        return min(ev.value_on, day)

    for ev in sorted(events, key=value_date):
        bring_to(value_date(ev))
        if ev.kind == "REVERSAL":
            if not ev.original and ev.original_txn_id is not None:  # reversed the same day
                ev.original = tuple(m for m in out.movements
                                    if m[6] == ev.original_txn_id and not m[7])
            if not ev.original:
                out.rejects.append((ev.txn_id, "NOT_REVERSIBLE", "reverses_txn_no",
                                    "the reversed repayment was not applied"))
                continue
            if sum(m[4] for m in ev.original if m[2] not in _NOT_PAID_IN) != ev.amount:
                out.rejects.append((ev.txn_id, "NOT_REVERSIBLE", "amount",
                                    "amount differs from the reversed repayment's"))
                continue
            if _guarantor_moved(loan, ev):
                out.rejects.append((ev.txn_id, "NOT_REVERSIBLE", "reverses_txn_no",
                                    "the guarantor's share has been repaid since the claim "
                                    "payment; reverse those recoveries first"))
                continue
            ctx.reverse(ev)
            out.applied_txns.append(ev.txn_id)
            continue
        if loan.state in NO_PAYMENT_STATES:
            out.rejects.append((ev.txn_id, "LOAN_CLOSED", "loan_no",
                                f"loan was paid off on {loan.closed_on}"))
            continue
        if loan.state == "WRITTEN_OFF":
            ctx.write_off_recovery(ev.amount, ev.txn_id)
        elif ev.payer == "GUARANTOR":
            if terms.guarantor_id is None:
                out.rejects.append((ev.txn_id, "BAD_VALUE", "payer",
                                    "the loan's agreement has no guarantor"))
                continue
            ctx.claim_payment(ev.amount, ev.txn_id)
        else:
            ctx._pay(ev.amount, kind=ev.kind, txn=ev.txn_id)
        ctx.refund_if_closed(ev.txn_id)
        out.applied_txns.append(ev.txn_id)
    bring_to(day)
    # Aging transitions that change balances (DPD, class and accrual flags are set in SQL).
    if loan.state in OPEN_STATES and loan.oldest_unpaid_due_on is not None:
        dpd = days_past_due(loan.oldest_unpaid_due_on, day)
        loan.dpd = dpd
        if (terms.claim_trigger_dpd is not None and terms.guarantor_id is not None
                and loan.claim_raised_on is None and loan.state != "CLAIMED"
                and dpd >= terms.claim_trigger_dpd):
            ctx.raise_claim()
        if terms.write_off_dpd is not None and dpd >= terms.write_off_dpd:
            ctx.write_off()
            ctx.refund_if_closed(None)
    elif loan.state in OPEN_STATES:
        loan.dpd = 0
    if loan.penalty_from is not None and loan.state in OPEN_STATES:
        ctx.crystallise_penalty(day)
    if loan.state in OPEN_STATES:
        ctx.mark_instalments()
    return out
