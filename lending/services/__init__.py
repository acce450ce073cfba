"""Writes of the lending app: agreements (maker-checker), programs and loan booking.

Every service is keyword-only, atomic and raises a `LendingError` subclass naming what is
wrong. Loan booking is set-based (`loans_book`): the demo loader and the settlement run book
thousands of loans with a handful of statements, never one ORM call per loan.
"""

from lending.services.agreements import (
    FunderTerms,
    agreement_create,
    agreement_terms_check,
    agreement_version_approve,
    agreement_version_draft,
    agreement_version_edited,
    agreement_version_reject,
    agreement_version_submit,
    program_create,
)
from lending.services.booking import (
    BookingReject,
    BookingResult,
    LoanToBook,
    borrower_token,
    loans_book,
)
from lending.services.errors import AgreementError, FourEyesError, LendingError

__all__ = [
    "AgreementError", "BookingReject", "BookingResult", "FourEyesError", "FunderTerms",
    "LendingError", "LoanToBook", "agreement_create", "agreement_terms_check",
    "agreement_version_approve", "agreement_version_draft", "agreement_version_edited",
    "agreement_version_reject", "agreement_version_submit", "borrower_token", "loans_book",
    "program_create",
]
