"""The regulatory limits in force on a date (issue 21, DOMAIN §1.2): thresholds and the bank's
figures are effective-dated rows (controls.models); the one in force on a day is the row with
the latest effective_from on or before it — a row effective tomorrow does not apply today.

The checks themselves: in every run, lending.settlement.limits (R2, R3 and the counts of R4/R5
refusals); at booking, lending.services.booking (R4 per borrower, R5 the loan's rate); on a
program change, controls.requests and the program admin (R5 the program's maximum rate).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from controls.models import BankFigure, LimitBankFigure, LimitCode, LimitThreshold

# The messages of booking's R4 and R5 refusals start with these (LIMIT_EXCEEDED rows): the run
# counts them by it (lending.settlement.limits).
BORROWER_PREFIX = "R4 per-borrower limit"
ALL_IN_COST_PREFIX = "R5 all-in cost"


@dataclass(frozen=True)
class Threshold:
    code: str
    threshold: Decimal
    warning_level: Decimal
    effective_from: date

    @property
    def warning_at(self) -> Decimal:
        """The value from which a warning is raised (warning level × threshold)."""
        return self.threshold * self.warning_level

    def level(self, value: Decimal) -> str:
        """BREACH above the threshold, WARNING from the warning level, OK below it."""
        if value > self.threshold:
            return "BREACH"
        if value >= self.warning_at:
            return "WARNING"
        return "OK"


def threshold_on(code: str, day: date) -> Threshold | None:
    """The threshold of `code` in force on `day`, or None when none is entered yet."""
    row = (LimitThreshold.objects.filter(code=code, effective_from__lte=day)
           .order_by("-effective_from").first())
    if row is None:
        return None
    return Threshold(row.code, row.threshold, row.warning_level, row.effective_from)


def thresholds_by_day(*codes: str) -> dict[str, Callable[[date], Threshold | None]]:
    """Every row of these codes in one query, each code's as a function of the day (for a
    batch of loans with many dates)."""
    rows: dict[str, list[Threshold]] = {code: [] for code in codes}
    for r in LimitThreshold.objects.filter(code__in=codes).order_by("effective_from"):
        rows[r.code].append(Threshold(r.code, r.threshold, r.warning_level, r.effective_from))

    def by_day(code_rows: list[Threshold]) -> Callable[[date], Threshold | None]:
        starts = [r.effective_from for r in code_rows]

        def on(day: date) -> Threshold | None:
            i = bisect.bisect_right(starts, day)
            return code_rows[i - 1] if i else None

        return on

    return {code: by_day(code_rows) for code, code_rows in rows.items()}


def figure_on(figure: str, day: date) -> Decimal | None:
    """The bank's figure in force on `day` (net tier-1 capital, total loans), or None."""
    return (LimitBankFigure.objects.filter(figure=figure, effective_from__lte=day)
            .order_by("-effective_from").values_list("amount", flat=True).first())


def all_in_cost_error(max_annual_rate: Decimal | None, day: date) -> str:
    """Why a program's maximum annual rate breaks R5 on `day`, or "". Programs carry no fee
    field: the rate is the whole all-in cost the system knows of."""
    if max_annual_rate is None:
        return ""
    t = threshold_on(LimitCode.ALL_IN_COST, day)
    if t is None or max_annual_rate <= t.threshold:
        return ""
    return (f"{ALL_IN_COST_PREFIX}: the maximum annual rate {max_annual_rate} is above the "
            f"{t.threshold:.2%} cap on the borrower's all-in annualised cost in force from "
            f"{t.effective_from} (limit {LimitCode.ALL_IN_COST})")


__all__ = ["ALL_IN_COST_PREFIX", "BORROWER_PREFIX", "BankFigure", "LimitCode", "Threshold",
           "all_in_cost_error", "figure_on", "threshold_on", "thresholds_by_day"]
