"""A loan's state for the loan-day engine (lending.domain.loan_day): plain data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from .daycount import DayCount, year_days
from .money import ZERO

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
# States the day's aging leaves as they are: a claimed loan stays CLAIMED, a closed one closed.
KEPT_BY_AGING = (LoanStatus.CLAIMED, *CLOSED_STATES)


def status_after_aging(state: str, dpd: int) -> str:
    """A loan's state at the end of its day: OVERDUE while any billed amount is past due
    (DPD > 0), else ACTIVE; CLAIMED and closed loans keep theirs."""
    if state in KEPT_BY_AGING:
        return state
    return LoanStatus.OVERDUE if dpd > 0 else LoanStatus.ACTIVE


COMPONENT_FIELD = {
    "PRINCIPAL": "principal", "INTEREST": "interest", "PENALTY": "penalty",
    "COMPOUND": "compound",
}


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
    # R16: non-accrual beyond this DPD, set at each day-end by the run's aging (SQL); a
    # replay (loan_day.replay_without) ages its days with it. None: not aged.
    non_accrual_dpd: int | None = None

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
    rate: Decimal | None = None  # PER_FUNDER_RATE: the funder's own rate (§3.5, R11)


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
    # its part of the loan's crystallised, unpaid penalty and compound interest (§8.2: the
    # waterfall pays them with the instalment, oldest first; lending.domain.loan_penalty)
    penalty_unpaid: Decimal = ZERO
    compound_unpaid: Decimal = ZERO
    penalty_paid: Decimal = ZERO
    compound_paid: Decimal = ZERO

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
    write_off_ordered: bool = False  # staff ordered its write-off (four eyes), due by today
    # amount × days of penalty / compound on earlier bases since penalty was last rounded
    # (a grace end is a base change, not a rounding point: §8.6)
    penalty_carry: Decimal = Decimal(0)
    compound_carry: Decimal = Decimal(0)
    # the last rounding of penalty / compound when a repayment made it: that repayment and the
    # amount × days rounded (its reversal rounds them once again with what ran since, §8.3)
    round_txn: int | None = None
    round_penalty_days: Decimal = Decimal(0)
    round_compound_days: Decimal = Decimal(0)
    # the last rounding point of penalty (penalty_from moves at a grace end too): each
    # instalment's part runs from here (lending.domain.loan_penalty); None: penalty_from
    penalty_rounded_on: date | None = None
    # BANK_FIXED_YIELD: the fee booked on the running period's crystallised pieces (taken back
    # when the period is crystallised anew in one piece, §8.3, §8.6); None: not known (a loan
    # mid-period before it was kept), and the period is then not crystallised anew
    period_fee: Decimal | None = Decimal(0)
    # what of its raised claim (代偿) the guarantor has not paid yet; None: no claim raised
    claim_left: Decimal | None = None

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
    original_kind: str | None = None  # a reversal: the reversed repayment's kind
    # a reversal: the loan's suspense applications (SUSPENSE_APPLY / SUSP_RECOVERY movement
    # rows, and their negations) recorded after the original, in order: what the advance the
    # original left paid since, taken back when the reversal leaves suspense short (§8.3, §8.8)
    advance_applied: tuple = ()
    # a reversal: the loan's history since the reversed repayment's day, to rebuild it from
    # there without that repayment (§8.3); None: restored in place (loan_reversal)
    replay: Replay | None = None
    # a reversal within a replayed history (Replay.events): its repayment is left out of the
    # replay already, only its day's rounding point remains (§8.3, §8.6)
    rounding_only: bool = False


@dataclass(slots=True)
class Replay:
    """What rebuilding a loan without a reversed repayment needs (DOMAIN §8.3): its state at the
    start of the business day the repayment was applied (or an earlier one reversed since was),
    the partner's business days from that day to the day before the reversal, the loan's
    applied repayments of each of those days in file order (the reversed one among them; one
    reversed since left out, its reversal kept as `rounding_only`), and the movements they
    made, in order."""

    snapshot: LoanState
    days: tuple[date, ...]
    events: dict[date, list[Event]]
    window: tuple[tuple, ...]


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
