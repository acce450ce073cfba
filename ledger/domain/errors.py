"""The ledger's named errors. One base class, so callers (API, commands) can catch them all."""

from __future__ import annotations


class LedgerError(Exception):
    """Base class of every ledger error; the message says which draft or object, and why."""


class InvalidDraft(LedgerError):
    """A draft is malformed: no lines, a bad amount, a bad currency, a blank key."""

    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(f"draft {key!r}: {reason}")


class UnbalancedDraft(InvalidDraft):
    """A draft's debits and credits differ in some currency."""


class DuplicateDraftKey(InvalidDraft):
    """The same idempotency key appears twice in one batch."""


class UnknownBook(InvalidDraft):
    """A draft names a book that does not exist."""


class UnknownAccount(InvalidDraft):
    """A draft names an account that is not in its book (or is inactive)."""


class PeriodClosed(InvalidDraft):
    """A draft is dated in a closed period (or before the latest closed period of its book)."""


class AlreadyReversed(LedgerError):
    """An entry that has already been reversed cannot be reversed again."""


class PeriodNotClosable(LedgerError):
    """A period cannot be closed (an earlier period is still open, or it is already closed)."""
