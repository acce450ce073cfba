"""Repayment waterfall: apply a payment to what a loan owes, by instalment and component.

Owed items are (instalment, due date, component, amount). They are paid in a fixed priority:
by default the oldest instalment first (overdue, then current), within an instalment by the
component order; with ``by_component=True`` the component order comes first across all
instalments (Fineract's non-"due-date-respective" strategies). What remains is applied to
not-yet-due principal only up to ``prepayable_principal`` (PREPAYMENT / PAYOFF); anything left
after that is an explicit ``overpayment`` (suspense or advance payment), never put on principal
silently.

The fill is greedy over a fixed order, so two payments on the same day allocate exactly as their
sum paid at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from .money import ZERO, DomainError


class WaterfallError(DomainError):
    """Invalid payment, owed item or allocation order."""


class Component(StrEnum):
    COSTS = "COSTS"  # costs of enforcing the claim (实现债权的费用)
    FEE = "FEE"  # contractual fees
    PENALTY = "PENALTY"  # 罚息 on overdue principal
    COMPOUND = "COMPOUND"  # 复利 on overdue interest
    INTEREST = "INTEREST"
    PRINCIPAL = "PRINCIPAL"


# Agreed default of the programs: penalty → compound → interest → principal (charges first).
DEFAULT_ORDER: tuple[Component, ...] = (
    Component.COSTS,
    Component.FEE,
    Component.PENALTY,
    Component.COMPOUND,
    Component.INTEREST,
    Component.PRINCIPAL,
)

# Civil Code Art. 561, when nothing is agreed: costs → interest → principal. Fees count as costs;
# penalty and compound interest (罚息/复利) are interest, taken after ordinary interest.
CIVIL_CODE_561_ORDER: tuple[Component, ...] = (
    Component.COSTS,
    Component.FEE,
    Component.INTEREST,
    Component.PENALTY,
    Component.COMPOUND,
    Component.PRINCIPAL,
)
LEGAL_DEFAULT_ORDER = CIVIL_CODE_561_ORDER

PRINCIPAL_FIRST_ORDER: tuple[Component, ...] = (
    Component.PRINCIPAL,
    Component.INTEREST,
    Component.COMPOUND,
    Component.PENALTY,
    Component.FEE,
    Component.COSTS,
)


class OwedItem(NamedTuple):
    """An amount owed for one component of one instalment."""

    installment: int
    due_on: date
    component: Component
    amount: Decimal


class AllocationLine(NamedTuple):
    installment: int
    due_on: date
    component: Component
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Allocation:
    """``lines`` in allocation order (non-zero only); Σ lines + prepaid + overpayment = payment."""

    lines: tuple[AllocationLine, ...]
    prepaid_principal: Decimal
    overpayment: Decimal

    def by_component(self) -> dict[Component, Decimal]:
        """Allocated amount per component (prepaid principal included under PRINCIPAL)."""
        out: dict[Component, Decimal] = {}
        for line in self.lines:
            out[line.component] = out.get(line.component, ZERO) + line.amount
        if self.prepaid_principal:
            out[Component.PRINCIPAL] = out.get(Component.PRINCIPAL, ZERO) + self.prepaid_principal
        return out

    @property
    def applied(self) -> Decimal:
        """Everything applied to the debt (lines and prepaid principal), overpayment excluded."""
        return sum((line.amount for line in self.lines), ZERO) + self.prepaid_principal


def priority(
    items: Iterable[OwedItem],
    order: Sequence[Component] = DEFAULT_ORDER,
    *,
    by_component: bool = False,
) -> list[OwedItem]:
    """The owed items in the order the waterfall pays them."""
    rank = {Component(c): n for n, c in enumerate(order)}
    if len(rank) != len(order):
        raise WaterfallError("allocation order lists a component twice")
    ranked = []
    for item in items:
        r = rank.get(item.component)
        if r is None:
            raise WaterfallError(f"component {item.component} is not in the allocation order")
        if item.amount < 0:
            raise WaterfallError(f"negative owed amount {item}")
        key = (
            (r, item.due_on, item.installment)
            if by_component
            else (item.due_on, item.installment, r)
        )
        ranked.append((key, item))
    ranked.sort(key=lambda pair: pair[0])
    return [item for _, item in ranked]


def allocate(
    payment: Decimal,
    owed_items: Iterable[OwedItem],
    order: Sequence[Component] = DEFAULT_ORDER,
    *,
    prepayable_principal: Decimal = ZERO,
    by_component: bool = False,
) -> Allocation:
    """Apply ``payment`` to ``owed_items`` (overdue and current) by ``order``, oldest first.

    Then up to ``prepayable_principal`` (0 unless the event is a PREPAYMENT / PAYOFF) goes to
    not-yet-due principal; the remainder is the overpayment.
    """
    if payment < 0:
        raise WaterfallError(f"payment must not be negative, got {payment}")
    if prepayable_principal < 0:
        raise WaterfallError("prepayable principal must not be negative")
    left = payment
    lines: list[AllocationLine] = []
    for item in priority(owed_items, order, by_component=by_component):
        if not left:
            break
        amount = item.amount if item.amount <= left else left
        if amount:
            lines.append(AllocationLine(item.installment, item.due_on, item.component, amount))
            left -= amount
    prepaid = prepayable_principal if prepayable_principal <= left else left
    return Allocation(tuple(lines), prepaid, left - prepaid)
