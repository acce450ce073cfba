"""Figures and labels shared by the report pages."""

from __future__ import annotations

from decimal import Decimal

ZERO = Decimal("0.00")

# Open breaks by age (days from first seen to last seen): label → (lowest, highest or None).
AGE_BUCKETS = {"0": (0, 0), "1-2": (1, 2), "3-5": (3, 5), "6+": (6, None)}

COMPONENTS = ("PRINCIPAL", "INTEREST", "PENALTY", "COMPOUND", "FEE", "COSTS")

# Rows per page of a drill-down (statement line → movements, journal line → movements).
DRILL_PAGE = 500


def age_bucket_of(age_days: int) -> str:
    for label, (lo, hi) in AGE_BUCKETS.items():
        if age_days >= lo and (hi is None or age_days <= hi):
            return label
    raise ValueError(age_days)
