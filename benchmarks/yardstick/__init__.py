"""A straightforward per-event implementation of a settlement day — it exists ONLY as the
yardstick of `manage.py bench_settlement` (issue 6, acceptance 5: the batch run must beat it
100-fold on the same day's events).

Never call it from the settlement: it is the design that DESIGN §8 rules out, the way a
core-banking system with per-loan jobs (Fineract's disbursement, accrual and ageing jobs) does
a day. Each event is one ORM transaction: load what it needs with the ORM (`select_for_update`),
compute with the pure domain (`lending.domain`: schedules, split, waterfall, accrual, penalty,
aging), save the rows it changed, and post one journal entry of the bank's share with
`ledger.services.journal_entries_post` (or, for a balances row, record its breaks). One function
per kind of event of the day:

- `loan_book_one`: a staged new loan → the loan, its funder shares, its schedule, a DISBURSE
  entry;
- `repayment_apply_one`: a plain SCHEDULED borrower payment (billed instalments, interest,
  principal) → instalments and shares saved, a COLLECT entry (reversals are timed at its rate);
- `loan_accrue_one`: the day's interest and penalty of one open loan and its ageing (DPD,
  class, accrual flag) → the accrual crystallised into the shares, an ACCRUAL entry;
- `balance_compare_one`: one row of the partner's balances file against the loan → breaks.

Each handles what the bench's standard day needs, with the batch's arithmetic (so that the
results agree, tests/integration/benchmarks/test_yardstick.py) — enough to time the real
per-event cost of each kind, not a second settlement engine (no claims, write-offs, fees or
MISSING_AT_PARTNER pass). `baseline_run` times a sample of each kind, each in a transaction that
is rolled back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction

from benchmarks.yardstick.accruals import loan_accrue_one
from benchmarks.yardstick.balances import balance_compare_one
from benchmarks.yardstick.common import BaselineError
from benchmarks.yardstick.loans import loan_book_one, repayment_apply_one

__all__ = ["KINDS", "BaselineError", "BaselineResult", "balance_compare_one", "baseline_run",
           "loan_accrue_one", "loan_book_one", "repayment_apply_one"]


@dataclass
class BaselineResult:
    events: int
    seconds: float
    entries: int  # journal entries posted (balances: events that wrote a break)

    @property
    def per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


# --- The yardstick ------------------------------------------------------------------------------


class _Rollback(Exception):
    pass


KINDS = ("loans", "repayments", "accruals", "balances")


def _timed(items: Sequence, one: Callable[..., int]) -> BaselineResult:
    """Time `one` over the items in a transaction rolled back at the end."""
    wrote = 0
    elapsed = 0.0
    started = time.monotonic()
    try:
        with transaction.atomic():
            for item in items:
                wrote += 1 if one(item) else 0
            elapsed = time.monotonic() - started
            raise _Rollback
    except _Rollback:
        pass
    return BaselineResult(events=len(items), seconds=elapsed, entries=wrote)


def baseline_run(*, partner_code: str, partner_id: int, bank_id: int, day: date,
                 repayments: Sequence[tuple[str, str, Decimal]],
                 loans: Sequence[int] = (), accruals: Sequence[int] = (),
                 balances: Sequence[int] = ()) -> dict[str, BaselineResult]:
    """Time the per-event path of each kind of the day's events on its sample, each kind in a
    transaction rolled back: repayments (txn_no, loan_no, amount), staged loan ids, ids of the
    loans to accrue and age, staged balance ids. Returns the result per kind (KINDS)."""
    return {
        "loans": _timed(loans, lambda staged_id: loan_book_one(
            staged_id=staged_id, partner_code=partner_code, bank_id=bank_id, day=day)),
        "repayments": _timed(repayments, lambda r: repayment_apply_one(
            partner_code=partner_code, partner_id=partner_id, loan_no=r[1], amount=r[2],
            day=day, txn_no=r[0], bank_id=bank_id)),
        "accruals": _timed(accruals, lambda loan_id: loan_accrue_one(
            loan_id=loan_id, partner_code=partner_code, bank_id=bank_id, day=day)),
        "balances": _timed(balances, lambda staged_id: balance_compare_one(
            staged_id=staged_id, day=day)),
    }
