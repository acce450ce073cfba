"""Moved to the domain: lending.domain.weights (issue 20). Re-exported here for existing
importers; nothing is defined in this module."""

from lending.domain.weights import accrual_weights, penalty_weights, year_days  # noqa: F401
