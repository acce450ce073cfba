"""The loan day's accrual: interest and penalty crystallised, fixed-yield fee, billing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from .daycount import DayCount
from .loan_penalty import attribute, inst_amount_days
from .loan_state import (
    OPEN_STATES,
    TEN_PLACES,
    DayResult,
    Inst,
    LoanState,
    Terms,
    _period_start,
    _plus_days,
)
from .money import ZERO, accrued_part, q2
from .penalty import penalty_for_days
from .schedule import first_period_interest, is_regular_first_period
from .split import weighted_parts
from .weights import accrual_weights


class AccrualDay:
    """One loan's day: movements, accrual and billing (the base of lending.domain.loan_day._Day)."""

    def __init__(self, loan: LoanState, terms: Terms, day: date, out: DayResult):
        self.loan, self.terms, self.day, self.out = loan, terms, day, out
        # the repayment being applied while it crystallises: its fee (FEE movement) carries
        # its txn, so that its reversal can take the fee back with the interest, and the loan
        # remembers the penalty it rounded (round_txn), so that its reversal can undo that
        self.paying_txn: int | None = None

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
        amount = accrued_part(loan.accrual_amount, elapsed, period)
        if amount:
            self._add_by_weights(amount, "interest", "accrual_weight")
            self._fee(amount, elapsed)
        if self.terms.method == "DAILY":
            # interest on the balance day by day (§3.3): what is left of the term accrues
            # unrounded, each rounding point rounds what ran since it (§8.6)
            left = loan.accrual_amount * (period - elapsed) / period
        else:
            # the period's scheduled interest stays whole: its rounded parts sum to it
            left = loan.accrual_amount - amount
        loan.accrual_amount = left.quantize(TEN_PLACES)
        loan.accrual_from = min(until, loan.accrual_to)

    def crystallise_period_anew(self, until: date) -> None:
        """A PREPAYMENT / PAYOFF reversal day of a rebuilt loan (§8.3): a running period with
        nothing paid on it is as if never touched, so what earlier reversal days crystallised
        of it is taken back and its interest from the period's start crystallised in one piece
        (§8.6: rounded once); a fixed-yield loan's fee booked on those pieces goes back with
        them, and the one piece books its fee. Otherwise (or a DAILY loan, or a fixed-yield loan
        whose pieces' fee is not known) the interest since the last crystallisation."""
        loan, t = self.loan, self.terms
        current = loan.insts[loan.billed_seq] if loan.billed_seq < len(loan.insts) else None
        fixed_yield = t.interest_rule == "BANK_FIXED_YIELD"
        if (current is not None and t.method != "DAILY"
                and not (fixed_yield and loan.period_fee is None)
                and not current.principal_paid and not current.interest_paid
                and loan.accrual_to == current.due_on and loan.accrual_from is not None
                and loan.accrual_from > (start := _period_start(loan, current))):
            pieces = current.interest_due - loan.accrual_amount
            if pieces:
                self._add_by_weights(-q2(pieces), "interest", "accrual_weight")
            if fixed_yield and loan.period_fee:  # the pieces' fee goes back with them
                self.move(t.bank_id, "FEE", "FEE", -loan.period_fee, None, self.paying_txn)
                loan.period_fee = Decimal(0)
            loan.accrual_from, loan.accrual_amount = start, current.interest_due
        self.crystallise_interest(until)

    def _regular_current(self) -> bool:
        """Whether the running period is a whole month (only the first may not be, §8.5)."""
        loan = self.loan
        if loan.billed_seq > 0 or not loan.insts or loan.disbursed_on is None:
            return True
        return is_regular_first_period(loan.disbursed_on, loan.insts[0].due_on)

    def _fee(self, amount: Decimal, days: int) -> None:
        """BANK_FIXED_YIELD: the bank's gross share above its yield is a service fee. The yield
        is on the borrower's basis for the period (§8.7) — the bank's part of the balance the
        period's interest runs on — and a regular monthly period of an
        EQUAL_INSTALLMENT / EQUAL_PRINCIPAL loan earns ÷ 12, a part of it that share of the
        period's days; DAILY and INTEREST_FIRST loans and an irregular first period earn
        actual days at the day-count basis."""
        loan, t = self.loan, self.terms
        bank = loan.shares.get(t.bank_id)
        if t.interest_rule != "BANK_FIXED_YIELD" or not t.bank_yield or bank is None:
            return
        weights = self._weights("accrual_weight")
        gross = weighted_parts(amount, weights, loan.residual)
        # The basis is the bank's part of the balance the period's interest runs on: its
        # principal less its part of principal billed and unpaid (an overdue instalment's
        # principal bears penalty, not interest).
        billed_unpaid = sum((i.principal_unpaid for i in loan.insts if i.seq <= loan.billed_seq),
                            ZERO)
        basis = bank.principal - (weighted_parts(billed_unpaid, weights, loan.residual).get(
            t.bank_id, ZERO) if billed_unpaid > 0 else ZERO)
        current = loan.insts[loan.billed_seq] if loan.billed_seq < len(loan.insts) else None
        if (t.method in ("EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL") and current is not None
                and self._regular_current()):
            whole = (current.due_on - _period_start(loan, current)).days or 1
            entitled = q2(basis * t.bank_yield / 12 * days / whole)
        else:
            entitled = q2(basis * t.bank_yield * days / t.year_days)
        fee = gross.get(t.bank_id, ZERO) - entitled
        if fee > 0:
            self.move(t.bank_id, "FEE", "FEE", fee, None, self.paying_txn)
            if self.loan.period_fee is not None:
                self.loan.period_fee += fee

    def crystallise_penalty(self, until: date) -> None:
        """Round the penalty and compound interest run since the last crystallisation — the
        amount × days carried from earlier bases plus the current bases' since `penalty_from`
        — once, to `until` (a rounding point of §8.6), and split each by the funders."""
        loan, t = self.loan, self.terms
        pen_days, cmp_days = self._penalty_amount_days(until)
        loan.penalty_carry = loan.compound_carry = ZERO
        # a repayment's rounding point, remembered until the next one (§8.3: its reversal
        # rounds this again with what runs since, as if it had never been a rounding point)
        txn = self.paying_txn if (pen_days or cmp_days) else None
        loan.round_txn = txn
        loan.round_penalty_days, loan.round_compound_days = (
            (pen_days, cmp_days) if txn is not None else (ZERO, ZERO))
        if pen_days or cmp_days:
            pen, cmp_ = self._penalty_of(pen_days), self._penalty_of(cmp_days)
            if pen:
                self._add_by_weights(pen, "penalty", "penalty_weight")
            if cmp_:
                self._add_by_weights(cmp_, "compound", "penalty_weight")
            attribute(inst_amount_days(loan, t.grace_days, until), pen, cmp_, pen_days,
                      cmp_days, self._penalty_of, loan)
        loan.penalty_from = loan.penalty_rounded_on = until
        self._penalty_bases(until)

    def _penalty_of(self, amount_days: Decimal) -> Decimal:
        """Penalty (or compound interest) of amount × days, HALF_UP to the cent."""
        t = self.terms
        return penalty_for_days(amount_days, t.annual_rate, 1, t.penalty_multiplier,
                                DayCount(t.day_count))

    def _penalty_amount_days(self, until: date) -> tuple[Decimal, Decimal]:
        """Unrounded amount × days of penalty and of compound interest not yet crystallised."""
        loan = self.loan
        days = 0
        if loan.penalty_from is not None and until > loan.penalty_from:
            days = (until - loan.penalty_from).days
        return (loan.penalty_carry + loan.penalty_base * days,
                loan.compound_carry + loan.compound_base * days)

    def rebase_penalty(self, at: date) -> None:
        """A base change that is not a rounding point (an instalment's grace ends): what ran on
        the old bases is carried unrounded as amount × days, and the new bases run from `at`."""
        loan = self.loan
        loan.penalty_carry, loan.compound_carry = self._penalty_amount_days(at)
        loan.penalty_from = at
        self._penalty_bases(at)

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

    def reweigh_interest(self) -> None:
        """PER_FUNDER_RATE: each funder's interest is from its own balance at its own rate
        (§3.5, R11), so the interest weights follow the balances after every change of
        principal (a claimed loan keeps the weights the claim gave it)."""
        loan = self.loan
        if self.terms.interest_rule != "PER_FUNDER_RATE" or loan.state == "CLAIMED":
            return
        shares = loan.shares.values()
        if not any(s.principal > 0 and s.rate for s in shares):
            return  # nothing earns: keep the weights (the derived accrual is zero)
        weights = accrual_weights("PER_FUNDER_RATE", {s.funder_id: s.principal for s in shares},
                                  {s.funder_id: s.rate for s in shares})
        for s in shares:
            s.accrual_weight = weights[s.funder_id]

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
                self.rebase_penalty(pen_on)
            else:
                self._bill(nxt)

    def _bill(self, inst: Inst) -> None:
        loan = self.loan
        if loan.penalty_from is not None:
            self.crystallise_penalty(inst.due_on)
        self.crystallise_interest(inst.due_on)
        loan.billed_seq = inst.seq
        loan.period_fee = Decimal(0)  # a new period: no piece of it crystallised yet
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
            loan.penalty_from = loan.penalty_rounded_on = inst.due_on

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
