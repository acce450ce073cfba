"""Moved to the domain: the per-loan day is lending.domain.loan_day (issue 20). Re-exported
here for existing importers; nothing is defined in this module."""

from lending.domain.loan_day import (  # noqa: F401
    Event,
    Inst,
    LoanState,
    Share,
    Terms,
    loan_day,
    weighted_parts,
)
