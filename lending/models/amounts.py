"""Column shapes of money and rates shared by the lending models."""

from __future__ import annotations

from decimal import Decimal

MONEY = {"max_digits": 18, "decimal_places": 2}
RATE = {"max_digits": 12, "decimal_places": 8}
ZERO = Decimal("0.00")
# An amount that starts at zero, in Python and in the database (db_default: a COPY may omit it).
MONEY_ZERO = {**MONEY, "default": ZERO, "db_default": ZERO}
