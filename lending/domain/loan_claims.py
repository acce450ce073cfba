"""The loan day's claims (代偿) and write-off (核销), DOMAIN §3.6."""

from __future__ import annotations

from decimal import Decimal

from .claim import ClaimScope, claim_amount
from .loan_payments import PaymentsDay
from .loan_penalty import settle_to_shares
from .loan_state import (
    COMPONENT_FIELD,
    Share,
)
from .money import ZERO
from .split import split_principal


class ClaimsDay(PaymentsDay):
    """Claims paid by the guarantor (代偿), claims raised, write-off and recoveries after it."""

    # -- claims (代偿) and write-off ---------------------------------------------------------
    def claim_payment(self, amount: Decimal, txn: int) -> None:
        loan, t = self.loan, self.terms
        gid = t.guarantor_id
        bank = loan.shares.get(t.bank_id)
        if loan.penalty_from is not None:
            self.paying_txn = txn
            self.crystallise_penalty(self.day)
            self.paying_txn = None
        # The raised claim paid in full buys the bank's share (§3.6, R13): its principal and
        # the interest billed by the claim day for the money, and what was billed since or lies
        # outside the claim's scope without cash, below. A part-payment (a claim restated
        # larger by a reversal's replay since it was paid, or paid in parts) pays principal
        # first too: interest first would take interest billed after the claim day, which the
        # claim does not buy, and the payment of the rest would then leave the bank principal.
        full = loan.claim_left is not None and 0 < loan.claim_left <= amount
        components = ["PRINCIPAL", "INTEREST"]
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
        if loan.claim_left is not None:
            loan.claim_left -= paid
        if not bank.principal and (full or not bank.interest):
            # The bank's share is closed: what the claim did not pay for (penalty outside the
            # claim scope, interest billed after the claim day) goes to the guarantor with the
            # rest, without cash.
            for comp in ("INTEREST", "PENALTY", "COMPOUND"):
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
        if loan.penalty_from is not None:  # a claim is a point of crystallisation (§8.6)
            self.crystallise_penalty(self.day)
        # DOMAIN §3.6: the bank share's principal + its billed (crystallised) interest, and under
        # PRINCIPAL_INTEREST_PENALTY its penalty and compound interest; unbilled accrual is not
        # bought.
        self.out.claim_raised = tuple(claim_amount(
            principal=bank.principal, due_unpaid_interest=bank.interest, penalty=bank.penalty,
            compound=bank.compound, scope=t.claim_scope))
        loan.claim_raised_on = self.day
        loan.claim_left = self.out.claim_raised[-1]

    def write_off(self) -> None:
        loan = self.loan
        if loan.penalty_from is not None:
            self.crystallise_penalty(self.day)
        self.crystallise_interest(self.day)
        self.write_off_balances()
        loan.state, loan.written_off_on = "WRITTEN_OFF", self.day
        loan.accrual_from = loan.accrual_to = None
        loan.accrual_amount = Decimal(0)
        loan.penalty_from = loan.next_penalty_on = None
        loan.penalty_base = loan.compound_base = ZERO

    def write_off_balances(self) -> None:
        """Every share's crystallised balances written off (WRITE_OFF movements, today)."""
        for fid, s in self.loan.shares.items():
            total = ZERO
            for comp, attr in COMPONENT_FIELD.items():
                amt = getattr(s, attr)
                if amt:
                    self.move(fid, "WRITE_OFF", comp, amt)
                    setattr(s, attr, ZERO)
                    total += amt
            s.written_off += total
        settle_to_shares(self.loan)  # no instalment owes penalty any more

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
