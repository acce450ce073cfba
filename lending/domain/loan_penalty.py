"""Which instalment a loan's penalty and compound interest belong to (DOMAIN §8.2, §8.6).

The loan's penalty is rounded once for the loan at each rounding point and split once among
the funders (§8.6: the worked 5.92 is the loan's penalty, rounded once); the waterfall runs
instalment-major, so each billed instalment keeps its part of it, and a partial payment pays
an earlier instalment's principal before a later instalment's penalty (§8.2). Each instalment's
part is its own amount × days since the last rounding point, rounded HALF_UP; the last of them
(by seq) takes what rounding leaves, so that the parts sum to the loan's rounded amount.

Plain functions on the loan's state; no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from .loan_state import Inst, LoanState, _plus_days
from .money import ZERO

# (instalment, penalty amount × days, compound amount × days) since the last rounding point
InstDays = list[tuple[Inst, Decimal, Decimal]]


def inst_amount_days(loan: LoanState, grace_days: int, until: date) -> InstDays:
    """Each billed, unpaid instalment's penalty and compound amount × days from the later of
    the loan's last rounding point and its due date + grace, to `until`.
    What an instalment owes does not change between rounding points: every payment, billing,
    claim, write-off and reversal is one."""
    start = loan.penalty_rounded_on or loan.penalty_from
    out: InstDays = []
    if start is None:
        return out
    for i in loan.insts:
        if i.seq > loan.billed_seq:
            break
        if not i.principal_unpaid and not i.interest_unpaid:
            continue
        days = (until - max(start, _plus_days(i.due_on, grace_days))).days
        if days > 0:
            out.append((i, i.principal_unpaid * days, i.interest_unpaid * days))
    return out


def attribute(parts: InstDays, pen: Decimal, cmp_: Decimal, pen_days: Decimal,
              cmp_days: Decimal, rounded: Callable[[Decimal], Decimal],
              loan: LoanState) -> None:
    """Give each instalment its part of the rounded penalty `pen` and compound `cmp_`:
    `rounded(its amount × days)`, the last the rest. When the instalments' amount × days do not
    make up the loan's (`pen_days`, `cmp_days`: a carry from before the instalment parts were
    kept, or a reversal's rounding taken back), the rest goes to the oldest unpaid instalment,
    which the waterfall pays first."""
    for k, (amount, total, attr) in enumerate(
            ((pen, pen_days, "penalty_unpaid"), (cmp_, cmp_days, "compound_unpaid"))):
        if not amount:
            continue
        mine = [(i, (p, c)[k]) for i, p, c in parts if (p, c)[k]]
        rest = amount
        for inst, days in mine:
            part = rounded(days)
            setattr(inst, attr, getattr(inst, attr) + part)
            inst.dirty = True
            rest -= part
        if rest:
            whole = sum((d for _i, d in mine), ZERO) == total
            target = mine[-1][0] if whole and mine else oldest_owing(loan)
            if target is not None:
                setattr(target, attr, getattr(target, attr) + rest)
                target.dirty = True


def oldest_owing(loan: LoanState) -> Inst | None:
    """The oldest billed instalment with anything unpaid (else the last billed one)."""
    billed = [i for i in loan.insts if i.seq <= loan.billed_seq]
    return next((i for i in billed if i.principal_unpaid or i.interest_unpaid
                 or i.penalty_unpaid or i.compound_unpaid), billed[-1] if billed else None)


def settle_to_shares(loan: LoanState) -> None:
    """Hold the instalments' penalty and compound to what the shares hold of them, which is
    the book: beyond it, taken from the latest instalments first (a write-off, a claim's
    rounding taken back); short of it, the rest on the oldest owing instalment (penalty
    crystallised before instalment parts were kept)."""
    for share_attr, attr in (("penalty", "penalty_unpaid"), ("compound", "compound_unpaid")):
        total = sum((getattr(s, share_attr) for s in loan.shares.values()), ZERO)
        held = sum((getattr(i, attr) for i in loan.insts), ZERO)
        if held == total and all(getattr(i, attr) >= 0 for i in loan.insts):
            continue
        for i in loan.insts:  # no negative part: the rest from a rounding comes off the next
            if getattr(i, attr) < 0:
                setattr(i, attr, ZERO)
                i.dirty = True
        over = sum((getattr(i, attr) for i in loan.insts), ZERO) - total
        for i in reversed(loan.insts):
            if over <= 0:
                break
            take = min(over, getattr(i, attr))
            if take:
                setattr(i, attr, getattr(i, attr) - take)
                i.dirty = True
                over -= take
        if over < 0 and (target := oldest_owing(loan)) is not None:
            setattr(target, attr, getattr(target, attr) - over)
            target.dirty = True


def pay_inst_penalty(inst: Inst, component: str, amount: Decimal) -> None:
    """`amount` of the instalment's penalty (PENALTY) or compound interest (COMPOUND) paid;
    a negative amount: a payment of it reversed."""
    kind = "penalty" if component == "PENALTY" else "compound"
    setattr(inst, f"{kind}_unpaid", getattr(inst, f"{kind}_unpaid") - amount)
    setattr(inst, f"{kind}_paid", getattr(inst, f"{kind}_paid") + amount)
    inst.dirty = True
