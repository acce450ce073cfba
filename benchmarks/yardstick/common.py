"""What the per-event functions share: constants, their error, posting one entry."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ledger import services as ledger
from ledger.domain import chart
from ledger.domain.drafts import EntryDraft, LineDraft
from lending.domain import loan_state
from lending.domain.waterfall import Component

ZERO = Decimal("0.00")
TEN_PLACES = Decimal("1E-10")
OPEN_STATES = tuple(s.value for s in loan_state.OPEN_STATES)  # the domain's, as plain str
_RECEIVABLE = {Component.INTEREST: chart.INTEREST_RECEIVABLE,
               Component.PRINCIPAL: chart.LOANS_RECEIVABLE}
_SHARE_FIELD = {Component.INTEREST: "interest_outstanding",
                Component.PRINCIPAL: "principal_outstanding"}


class BaselineError(Exception):
    """The per-event yardstick was given something it cannot time (a row already applied)."""


def _post(*, key: str, purpose: str, day: date, lines: list[LineDraft]) -> int:
    if lines:
        ledger.journal_entries_post(drafts=[EntryDraft(
            book=chart.BANK_GL, business_date=day, idempotency_key=key, purpose=purpose,
            lines=tuple(lines), source_run="baseline")])
    return len(lines)
