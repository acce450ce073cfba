"""Fixtures for ledger integration tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ledger.domain import chart
from ledger.domain.drafts import EntryDraft, LineDraft
from ledger.services import chart_of_accounts_load
from tests.support.ledger import ledger_purge


@pytest.fixture
def gl(db):
    """BANK_GL with its chart (a transactional test elsewhere may have flushed the migration's)."""
    chart_of_accounts_load()
    return chart.BANK_GL


@pytest.fixture
def committing_ledger(transactional_db):
    """For transaction=True tests: empty the append-only ledger before Django's flush."""
    chart_of_accounts_load()
    yield chart.BANK_GL
    ledger_purge()


def _simple_draft(key: str, amount: str = "100.00", *, day: date = date(2026, 3, 2),
                 book: str = chart.BANK_GL, program: str = "P1") -> EntryDraft:
    value = Decimal(amount)
    return EntryDraft(
        book=book,
        business_date=day,
        idempotency_key=key,
        purpose="DISBURSEMENT",
        source_run="test",
        lines=(
            LineDraft.dr(chart.LOANS_RECEIVABLE, value, program=program, source=f"{key}:dr"),
            LineDraft.cr(chart.DUE_TO_PLATFORM, value, program=program, source=f"{key}:cr"),
        ),
    )


@pytest.fixture
def make_draft():
    """Factory of a balanced two-line disbursement draft: make_draft(key, amount, day=...)."""
    return _simple_draft
