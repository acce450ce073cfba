"""The oracle model's money helpers and plain state (tests/oracle/model.py replays with them):
HALF_UP to the cent, the §8.1 split, the annuity, and a loan's spec, payments, instalments and
day state."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal("0")
CENT = Decimal("0.01")
ORDER = ("PENALTY", "COMPOUND", "INTEREST", "PRINCIPAL")  # §8.2 default


def hu(x: Decimal) -> Decimal:
    return Decimal(x).quantize(CENT, ROUND_HALF_UP)


def add_months(d: date, n: int, day: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    y, m = d.year + y, m + 1
    return date(y, m, min(day, calendar.monthrange(y, m)[1]))


def split(amount: Decimal, weights: list[tuple[str, Decimal]], residual: str) -> dict[str, Decimal]:
    """§8.1: HALF_UP(amount × weight) to each non-residual funder, the residual the rest."""
    out, rest = {}, amount
    for funder, w in weights:
        if funder != residual:
            out[funder] = hu(amount * w)
            rest -= out[funder]
    out[residual] = rest
    return out


def annuity(p: Decimal, i: Decimal, n: int) -> Decimal:
    if i == 0:
        return hu(p / n)
    f = (1 + i) ** n
    return hu(p * i * f / (f - 1))


@dataclass(frozen=True)
class LoanSpec:
    loan_no: str
    principal: Decimal
    rate: Decimal
    term: int
    method: str
    disbursed: date
    funders: tuple[tuple[str, Decimal], ...]  # (code, ratio); funded = HALF_UP split
    residual: str
    penalty_multiplier: Decimal = Decimal("1.5")
    grace_days: int = 0
    basis: int = 360
    daily_term_months: int = 36  # DAILY: the program's max_term_months (its default)
    first_due: date | None = None  # first_due_on of the loans file (§8.5); None: anniversary
    write_off_dpd: int | None = None  # the program's automatic write-off (核销) DPD
    claim_dpd: int | None = None  # the program's claim_trigger_dpd (代偿)
    guarantor: str = ""  # the agreement's guarantor (its partner code)
    interest_rule: str = "PRO_RATA"  # | BANK_FIXED_YIELD | PER_FUNDER_RATE (§3.5)
    rates: tuple[tuple[str, Decimal], ...] = ()  # PER_FUNDER_RATE: each funder's own rate
    bank_yield: Decimal = Decimal("0")  # BANK_FIXED_YIELD


@dataclass(frozen=True)
class Pay:
    txn: str
    paid_on: date
    amount: Decimal
    kind: str = "SCHEDULED"  # SCHEDULED | PREPAYMENT | PAYOFF
    payer: str = "BORROWER"  # | GUARANTOR (a claim payment, 代偿)


@dataclass
class Inst:
    seq: int
    start: date
    due: date
    principal: Decimal
    interest: Decimal
    billed: bool = False
    p_paid: Decimal = ZERO
    i_paid: Decimal = ZERO
    pen: Decimal = ZERO       # crystallised, unpaid
    comp: Decimal = ZERO
    pen_acc: Decimal = ZERO   # unrounded since the last crystallisation, × the basis
    comp_acc: Decimal = ZERO
    # the running period's interest crystallised before billing (§8.4 prepayment, §8.3
    # reversal day): in this accrual segment, in the whole period, and of it still unpaid
    seg_cryst: Decimal = ZERO
    seg_amount: Decimal | None = None  # after a crystallisation: the rest, over the rest of days
    cryst_total: Decimal = ZERO
    unpaid_cryst: Decimal = ZERO

    @property
    def p_due(self):
        return self.principal - self.p_paid

    @property
    def i_due(self):
        return self.interest - self.i_paid


@dataclass
class State:
    day: date
    insts: list[Inst]
    shares: dict[str, dict[str, Decimal]]   # funder → PRINCIPAL/INTEREST/PENALTY (stored)
    suspense: Decimal = ZERO
    closed_on: date | None = None
    state: str = "ACTIVE"
    dpd: int = 0
    # per day: funder → collected components, of the borrower's money paid that day (what a
    # statement's COLLECTION lines carry) and of the advance applied (not a statement line:
    # the money was on the statement as OVERPAYMENT when it came, §8.8)
    collected: dict[date, dict[tuple[str, str], Decimal]] = field(default_factory=dict)
    applied: dict[date, dict[tuple[str, str], Decimal]] = field(default_factory=dict)
    from_advance: bool = False
    overpaid: dict[date, Decimal] = field(default_factory=dict)
    refunded: dict[date, Decimal] = field(default_factory=dict)
    quarantined: list[str] = field(default_factory=list)
    # BANK_FIXED_YIELD: the bank's service fee to the platform, by the day it was crystallised
    fees: dict[date, Decimal] = field(default_factory=dict)
    fee_untracked: bool = False  # a reversal restored a period: its fee is not modelled
    # write-off (§3.6): what each funder's share wrote off, by PRINCIPAL / INTEREST / PENALTY
    # (penalty with compound), and the recoveries after it, by day and funder
    written_off: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    recovered: dict[date, dict[str, Decimal]] = field(default_factory=dict)
    # the claim (§3.6): raised on, its amount (bank principal + interest), paid on
    claim_raised: date | None = None
    claim_amount: Decimal = ZERO
    claim_paid: date | None = None
