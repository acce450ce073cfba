"""The run's errors (lending.settlement.runner re-exports them)."""

from __future__ import annotations


class SettlementError(Exception):
    """A run could not be started or did not finish; the message says why."""


class RunLocked(SettlementError):
    pass
