"""Rules with a threshold, defined once (DOMAIN §6): the SQL of intake and the database
constraints render these values; booking and agreement checks call the functions.

R1 (funding ratio): for a loan disbursed on or after 2022-01-01 the partner funds at least 30 %,
i.e. the bank's principal ratio is at most 0.70. A breach is quarantined as LIMIT_EXCEEDED on
the disbursement date (the rule's trigger), by intake and by booking alike.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

MAX_BANK_RATIO = Decimal("0.70")
RATIO_RULE_FROM = date(2022, 1, 1)
RATIO_RULE_REASON = "LIMIT_EXCEEDED"
RATIO_RULE_COLUMN = "disbursed_on"


def bank_ratio_allowed(bank_ratio: Decimal, disbursed_on: date) -> bool:
    """R1: the bank's principal ratio is allowed for a loan disbursed on `disbursed_on`."""
    return disbursed_on < RATIO_RULE_FROM or bank_ratio <= MAX_BANK_RATIO


def ratio_rule_message(bank_ratio: Decimal | None = None) -> str:
    """The one wording of an R1 breach."""
    ratio = "the agreement's bank ratio" if bank_ratio is None else f"bank ratio {bank_ratio}"
    return f"{ratio} exceeds {MAX_BANK_RATIO} (not allowed from {RATIO_RULE_FROM.isoformat()})"
