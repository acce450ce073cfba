"""Guarantor claim (代偿) amount for one funder's share of a loan.

Claim = the funder's outstanding principal + its share of due unpaid interest, and with the
PRINCIPAL_INTEREST_PENALTY scope also its share of unpaid penalty and compound interest
(DOMAIN §3.6: 5,918.43 + 70 % × 344.74 = 6,159.75, penalty excluded). The funder's shares come
from its own sub-ledger balances or from :func:`lending.domain.split.split`.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from .money import ZERO, DomainError


class ClaimScope(StrEnum):
    PRINCIPAL = "PRINCIPAL"
    PRINCIPAL_INTEREST = "PRINCIPAL_INTEREST"
    PRINCIPAL_INTEREST_PENALTY = "PRINCIPAL_INTEREST_PENALTY"


class ClaimAmount(NamedTuple):
    principal: Decimal
    interest: Decimal
    penalty: Decimal  # penalty plus compound interest
    total: Decimal


def claim_amount(
    *,
    principal: Decimal,
    due_unpaid_interest: Decimal,
    penalty: Decimal = ZERO,
    compound: Decimal = ZERO,
    scope: ClaimScope | str = ClaimScope.PRINCIPAL_INTEREST,
) -> ClaimAmount:
    """The amount a guarantor pays for one funder's share under ``scope``."""
    scope = ClaimScope(scope)
    if min(principal, due_unpaid_interest, penalty, compound) < 0:
        raise DomainError("claim components must not be negative")
    interest = ZERO if scope == ClaimScope.PRINCIPAL else due_unpaid_interest
    charges = penalty + compound if scope == ClaimScope.PRINCIPAL_INTEREST_PENALTY else ZERO
    return ClaimAmount(principal, interest, charges, principal + interest + charges)
