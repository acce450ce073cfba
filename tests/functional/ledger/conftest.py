from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ledger.domain import chart
from ledger.domain.drafts import EntryDraft, LineDraft
from ledger.services import chart_of_accounts_load, journal_entries_post


@pytest.fixture
def posted_gl(db):
    """BANK_GL with one disbursement and one accrual on 2026-03-02/03."""
    chart_of_accounts_load()
    journal_entries_post(drafts=[
        EntryDraft(book=chart.BANK_GL, business_date=date(2026, 3, 2), idempotency_key="f:disb",
                   purpose="DISBURSEMENT",
                   lines=(LineDraft.dr(chart.LOANS_RECEIVABLE, Decimal("1000.00")),
                          LineDraft.cr(chart.DUE_TO_PLATFORM, Decimal("1000.00")))),
        EntryDraft(book=chart.BANK_GL, business_date=date(2026, 3, 3), idempotency_key="f:acc",
                   purpose="ACCRUAL",
                   lines=(LineDraft.dr(chart.INTEREST_RECEIVABLE, Decimal("0.50")),
                          LineDraft.cr(chart.INTEREST_INCOME, Decimal("0.50")))),
    ])
    return chart.BANK_GL
