"""Which handler applies which kind of request.

A new kind: a `RequestKind` choice (controls.models, with its migration), a module beside
this one defining `HANDLER = Handler(check, apply)`, and one line here.
"""

from __future__ import annotations

from controls.models import RequestKind
from controls.requests import (
    breaks,
    journals,
    limit_rows,
    loans,
    partners,
    payments,
    programs,
)
from controls.requests.base import Handler
from lending.intake import correction_handler

HANDLERS: dict[str, Handler] = {
    RequestKind.PROGRAM_CHANGE: programs.HANDLER,
    RequestKind.BREAK_WRITE_OFF: breaks.HANDLER,
    RequestKind.PARTNER_STATUS: partners.HANDLER,
    RequestKind.MANUAL_JOURNAL: journals.HANDLER,
    RequestKind.PAYMENT_RELEASE: payments.HANDLER,
    RequestKind.LOAN_WRITE_OFF: loans.HANDLER,
    RequestKind.ROW_CORRECTION: correction_handler.HANDLER,
    RequestKind.LIMIT_THRESHOLD: limit_rows.HANDLER,
    RequestKind.LIMIT_BANK_FIGURE: limit_rows.HANDLER,
}
