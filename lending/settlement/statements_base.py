"""What every step of a statement's life shares (lending.settlement.statements): its errors,
the amounts' zero, and the statement read under its row lock."""

from __future__ import annotations

from decimal import Decimal

from lending.settlement.errors import SettlementError
from lending.settlement.models import Statement

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


class StatementError(SettlementError):
    """A lifecycle step or a payment refused; `field` names the input at fault, if any."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


class TransitionRefused(StatementError):
    """The statement's status does not allow the step (the API answers 409)."""


class UnknownReference(StatementError):
    """No statement carries the payment's reference."""


def statement_locked(statement_id: int) -> Statement:
    """The statement with its run's partner and its counterparty, its row locked (FOR UPDATE)
    until the transaction ends: one writer of a statement's status at a time."""
    return (Statement.objects.select_for_update(of=("self",))
            .select_related("run__partner", "counterparty").get(pk=statement_id))
