"""The settlement's ledger checks find what they are for (they read the GL through
ledger.selectors): a line posted past the sub-ledger breaks `subledger_equals_gl`, and one on a
settlement account under the run's key breaks `statements_tie`; the clean day passes both."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from ledger.domain import chart
from ledger.domain.drafts import EntryDraft, LineDraft
from ledger.services import journal_entries_post
from lending.settlement import checks, posting
from tests.golden.helpers import deliver_and_settle, loan_row

pytestmark = pytest.mark.django_db

D0 = date(2026, 1, 15)


def test_checks_find_a_line_the_sub_ledger_and_the_statements_do_not_have(golden):
    run = deliver_and_settle("ALPHA", D0, loans=[loan_row("L1")])
    assert checks.subledger_equals_gl(as_of=D0) == []
    assert checks.statements_tie(as_of=D0) == []

    dim = posting.program_dimension("ALPHA", "CASH")
    journal_entries_post(drafts=[EntryDraft(
        book=chart.BANK_GL, business_date=D0, idempotency_key="smuggled", purpose="T",
        source_run=posting.run_key(run), lines=(
            LineDraft.dr(chart.LOANS_RECEIVABLE, D("1.00"), program=dim),
            LineDraft.cr(chart.DUE_TO_PLATFORM, D("1.00"), program=dim)))])

    assert checks.subledger_equals_gl(as_of=D0) == [
        f"{D0} {chart.BANK_GL} ALPHA/CASH account {chart.LOANS_RECEIVABLE}: sub-ledger 7000.00"
        " != GL 7001.00"]
    assert checks.statements_tie(as_of=D0) == [
        f"run {run.pk}: statements net -7000.00 != GL settlement accounts -7001.00"]
    # another platform's programs and another day's statements are not this one's
    assert checks.subledger_equals_gl(as_of=date(2026, 1, 16)) == []
    assert checks.statements_tie(as_of=date(2026, 1, 16)) == []
