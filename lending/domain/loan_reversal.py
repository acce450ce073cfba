"""The loan day's reversals (冲正), DOMAIN §8.3."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from .daycount import year_days
from .loan_advance import AdvanceReversalDay
from .loan_penalty import attribute, inst_amount_days, pay_inst_penalty, settle_to_shares
from .loan_state import (
    COMPONENT_FIELD,
    OPEN_STATES,
    TEN_PLACES,
    Event,
    LoanState,
    _period_start,
    _plus_days,
)
from .money import ZERO, q2
from .schedule import build_schedule
from .split import split_principal, weighted_parts


class ReversalDay(AdvanceReversalDay):
    """Reversals (冲正): the loan restored as if the payment had never been made (§8.3)."""

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
        # Penalty since the last crystallisation on the bases as they stand is crystallised
        # together with what runs from the due dates on what the reversal unpays, rounded once
        # (§8.3, §8.6), on the weights the loan has once restored (a claim payment reversed:
        # the bank's again). When the reversed payment was the last rounding point, what it
        # rounded is rounded again with them (_unround): as if it had never been one.
        pending = (ZERO, ZERO)
        unround = loan.round_txn is not None and loan.round_txn == event.original_txn_id
        # each instalment's part of `pending` (lending.domain.loan_penalty)
        inst_pending: dict[int, tuple[Decimal, Decimal]] = {}
        if loan.penalty_from is not None:
            pending = self._penalty_amount_days(self.day)
            inst_pending = {i.seq: (p, c) for i, p, c in
                            inst_amount_days(loan, t.grace_days, self.day)}
            loan.penalty_carry = loan.compound_carry = ZERO
            loan.penalty_from = loan.penalty_rounded_on = self.day
            self._penalty_bases(self.day)
        before = {i.seq: (i.principal_unpaid, i.interest_unpaid)
                  for i in loan.insts if i.seq <= loan.billed_seq}
        prepaid_seqs: set[int] = set()
        for (_lid, fid, ev, comp, amount, seq, _txn, _rev, _acc) in event.original:
            if ev == "FEE":  # taken back with the interest it was booked on (_restore_schedule)
                continue
            share = loan.shares.get(fid)
            if ev in ("COLLECT", "RECOVERY", "SUSPENSE_APPLY", "SUSP_RECOVERY"):
                attr = COMPONENT_FIELD[comp]
                setattr(share, attr, getattr(share, attr) + amount)
                inst = self._inst(seq or 0)
                if inst is not None:
                    if comp in ("PENALTY", "COMPOUND"):  # its instalment's again (§8.2)
                        pay_inst_penalty(inst, comp, -amount)
                    elif comp == "PRINCIPAL":
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
                    if loan.claim_left is not None:
                        loan.claim_left += amount
                elif ev == "CLAIM_IN" and comp == "PRINCIPAL":
                    share.funded -= amount
            elif ev == "WO_RECOVERY":
                share.recovered -= amount
            self.move(fid, ev, comp, -amount, seq, event.txn_id, reversal=True)
        if loan.overpaid < 0:  # the advance it left has paid instalments since
            self._take_back_advance(event, -loan.overpaid)
        if loan.state == "WRITTEN_OFF":
            # a recovery after write-off undone (§7.10): what it recovered is open again;
            # nothing accrues on a written-off loan, its instalments stay as written off. A
            # payment of before the write-off (restored in place: a write-off ordered by
            # staff): what it paid is owed again, and written off with the loan today
            self.write_off_balances()
            settle_to_shares(loan)
            return
        if loan.state == "CLAIMED" and loan.shares[t.bank_id].principal:
            g = loan.shares.get(t.guarantor_id)
            bank = loan.shares[t.bank_id]
            if g is not None and not g.principal:
                # As if the claim had never been paid (§8.3): what the guarantor's share took
                # on since — interest billed, penalty crystallised on its weights — is the
                # bank's, without cash (no recovery stands: _guarantor_moved). (An earlier
                # part-payment of the claim that stands keeps the share as it is.)
                for comp, attr in COMPONENT_FIELD.items():
                    if comp == "PRINCIPAL" or not (amt := getattr(g, attr)):
                        continue
                    setattr(g, attr, ZERO)
                    setattr(bank, attr, getattr(bank, attr) + amt)
                    for fid, ev in ((t.bank_id, "TRANSFER_OUT"), (g.funder_id, "TRANSFER_IN")):
                        self.move(fid, ev, comp, -amt, loan.billed_seq or None, event.txn_id,
                                  reversal=True)
            if g is not None:
                bank.accrual_weight, g.accrual_weight = g.accrual_weight, Decimal(0)
                bank.penalty_weight, g.penalty_weight = g.penalty_weight, Decimal(0)
            loan.state, loan.claimed_on = "ACTIVE", None
        if unround:
            pending = self._unround(pending)
        if was_paid_off:
            loan.state, loan.closed_on = "ACTIVE", None
        if loan.state in OPEN_STATES and (prepaid_seqs or was_paid_off
                                          or (event.original_kind == "PREPAYMENT"
                                              and t.method != "DAILY")):
            self._restore_schedule(min(prepaid_seqs, default=loan.billed_seq + 1), anchor,
                                   event)
            # Bill what fell due while the loan stood closed, then the interest of the running
            # period accrued since the payment is crystallised today (penalty follows below).
            loan.penalty_from = None
            while (nxt := self._inst(loan.billed_seq + 1)) is not None and nxt.due_on <= self.day:
                self._bill(nxt)
                loan.penalty_from = None
            self.crystallise_interest(self.day)
        self._penalty_since_due(before, paid_day, pending, inst_pending)
        for i in loan.insts:
            if i.seq <= loan.billed_seq and i.status == "DUE" and not (
                i.principal_unpaid or i.interest_unpaid
            ):
                i.status = "PAID"
        loan.penalty_from = loan.penalty_rounded_on = self.day
        # the reversal day is the rounding point now
        loan.round_txn, loan.round_penalty_days, loan.round_compound_days = None, ZERO, ZERO
        self._settle_instalments()
        if loan.oldest_unpaid_due_on is None and loan.next_penalty_on is None:
            loan.penalty_from = None
        else:
            self._penalty_bases(self.day)
        settle_to_shares(loan)

    def _unround(self, pending: tuple[Decimal, Decimal]) -> tuple[Decimal, Decimal]:
        """Take back the penalty and compound interest that the reversed payment rounded at its
        value date (the loan's last rounding point, §8.6), split as they were, and return
        `pending` with their amount × days, to be rounded once with what ran since (§8.3).
        Left as it is when a funder no longer holds its part (nothing to take back exactly)."""
        loan = self.loan
        days = (loan.round_penalty_days, loan.round_compound_days)
        weights = self._weights("penalty_weight")
        parts = [weighted_parts(self._penalty_of(d), weights, loan.residual) if d else {}
                 for d in days]
        for attr, split in zip(("penalty", "compound"), parts, strict=True):
            if any(getattr(loan.shares[f], attr) < p for f, p in split.items()):
                return pending
        for attr, split in zip(("penalty", "compound"), parts, strict=True):
            for f, p in split.items():
                s = loan.shares[f]
                setattr(s, attr, getattr(s, attr) - p)
        return pending[0] + days[0], pending[1] + days[1]

    def _penalty_since_due(self, before: dict[int, tuple[Decimal, Decimal]],
                           paid_day: date, pending: tuple[Decimal, Decimal],
                           inst_pending: dict[int, tuple[Decimal, Decimal]]) -> None:
        """Penalty and compound interest on what the reversal made unpaid again, from its due
        date + grace (or from the day it was paid, to which penalty had already been charged)
        to today, with `pending` (amount × days on the bases since the last crystallisation),
        crystallised once (DOMAIN §8.3, §8.6)."""
        loan, t = self.loan, self.terms
        pen_days, cmp_days = pending
        parts = []
        for i in loan.insts:
            if i.seq > loan.billed_seq:
                break
            was_p, was_i = before.get(i.seq, (ZERO, ZERO))
            start = max(paid_day, _plus_days(i.due_on, t.grace_days))
            days = (self.day - start).days
            more_p = max(i.principal_unpaid - was_p, ZERO) * days if days > 0 else ZERO
            more_c = max(i.interest_unpaid - was_i, ZERO) * days if days > 0 else ZERO
            pen_days, cmp_days = pen_days + more_p, cmp_days + more_c
            p, c = inst_pending.get(i.seq, (ZERO, ZERO))
            if p + more_p or c + more_c:
                parts.append((i, p + more_p, c + more_c))
        if pen_days or cmp_days:
            pen, cmp_ = self._penalty_of(pen_days), self._penalty_of(cmp_days)
            if pen:
                self._add_by_weights(pen, "penalty", "penalty_weight")
            if cmp_:
                self._add_by_weights(cmp_, "compound", "penalty_weight")
            attribute(parts, pen, cmp_, pen_days, cmp_days, self._penalty_of, loan)

    def _restore_schedule(self, first_seq: int, anchor: date, event: Event) -> None:
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
            held = {f: max(s.interest, ZERO) for f, s in loan.shares.items()}
            if not all(loan.shares[f].interest >= p >= 0 for f, p in parts.items()) and (
                    0 < crystallised <= sum(held.values(), ZERO)):
                # crystallised in pieces (a reversal day, then a payment), each split by
                # weight, a cent can sit with another funder than one split gives: take back
                # by what each share holds (capped by it) instead
                parts = split_principal(crystallised, held, loan.residual)
            if all(loan.shares[f].interest >= p >= 0 for f, p in parts.items()):
                for f, p in parts.items():
                    loan.shares[f].interest -= p
                anchor, crystallised = _period_start(loan, current), ZERO
                # the fixed-yield fee booked on the interest the payment crystallised goes
                # back with it, and the fee of any other piece of the period taken back: the
                # reversal day books the period's fee to date once (§3.5)
                taken = ZERO
                for (_lid, fid, ev, comp, amount, seq, _txn, _rev, _acc) in event.original:
                    if ev == "FEE":
                        self.move(fid, ev, comp, -amount, seq, event.txn_id, reversal=True)
                        taken += amount
                if loan.period_fee is not None:
                    rest = max(loan.period_fee - taken, ZERO)
                    if rest:
                        self.move(t.bank_id, "FEE", "FEE", -rest, None, event.txn_id)
                    loan.period_fee = ZERO
        if reamortised:  # the period so far + the rest on the restored balance
            remaining = sum((i.principal_unpaid for i in loan.insts
                             if i.seq > loan.billed_seq), ZERO)
            current.interest_due = current.interest_paid + crystallised + q2(
                self._rest_interest(remaining, current, anchor))
        loan.accrual_from, loan.accrual_to = anchor, current.due_on
        # what the period still accrues: its interest less what is paid or crystallised
        loan.accrual_amount = max(current.interest_due - current.interest_paid - crystallised,
                                  ZERO)


# A repayment's movements that are not its money: the guarantor's side of a claim, the share
# closed by it, the advance refunded when it closed the loan, and the fixed-yield fee on the
# interest it crystallised.
_NOT_PAID_IN = frozenset({"CLAIM_IN", "TRANSFER_IN", "TRANSFER_OUT", "REFUND", "FEE"})


def _guarantor_moved(loan: LoanState, event: Event) -> bool:
    """A claim payment can only be undone while the guarantor still holds what it bought."""
    for (_lid, fid, ev, comp, amount, *_rest) in event.original:
        if ev in ("CLAIM_IN", "TRANSFER_IN"):
            share = loan.shares.get(fid)
            if share is None or getattr(share, COMPONENT_FIELD[comp]) < amount:
                return True
    return False
