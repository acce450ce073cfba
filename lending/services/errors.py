"""The lending app's named errors."""

from __future__ import annotations


class LendingError(Exception):
    """Base of the lending app's named errors; the API layer turns it into a 4xx answer."""

    code = "LENDING_ERROR"


class AgreementError(LendingError):
    code = "AGREEMENT_INVALID"


class FourEyesError(LendingError):
    """Maker-checker: the person who drafted a change may not approve it."""

    code = "FOUR_EYES"
