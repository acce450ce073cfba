"""Acceptance 4: four days of a small joint-lending book, checked by hand.

Program P1 lends 10,000.00 and P2 5,000.00 on 03-02 (funded by the platform: Dr 1301 /
Cr 2241). 03-03: interest accrues 3.50 (P1) + 1.05 (P2) = 4.55 (the DOMAIN §5 voucher), and a
non-accrual loan's 0.70 goes off balance (Dr 7101 / Cr 7199). 03-04: P1 collects 1,003.50
(principal 1,000.00, interest 3.50) and accrues 3.15. 03-05: the 03-04 collection bounced and is
reversed; the corrected collection is 503.50 (principal 500.00, interest 3.50) and the platform
pays it in cash.

Hand-computed balances (Dr positive for debit-normal accounts):

=========  ======  =========  ========  =====  ========  ========  ======  ======
as of      1301    1132       1221      1001   2241      6011      7101    7199
=========  ======  =========  ========  =====  ========  ========  ======  ======
03-02      15000   0          0         0      15000     0         0       0
03-03      15000   4.55       0         0      15000     4.55      0.70    0.70
03-04      14000   4.20       1003.50   0      15000     7.70      0.70    0.70
03-05      14500   4.20       0         503.5  15000     7.70      0.70    0.70
=========  ======  =========  ========  =====  ========  ========  ======  ======

Trial balance totals: 15,000.00 / 15,005.25 / 15,008.40 / 15,008.40 on each side.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ledger.domain import chart as c
from ledger.domain.drafts import EntryDraft, LineDraft
from ledger.models import JournalEntry
from ledger.selectors import account_balance_get, account_lines_list, trial_balance_list
from ledger.services import journal_entries_post, journal_entry_reverse

pytestmark = pytest.mark.django_db

D1, D2, D3, D4 = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4), date(2026, 3, 5)
M = Decimal


def _entry(key, day, purpose, *lines):
    return EntryDraft(book=c.BANK_GL, business_date=day, idempotency_key=key, purpose=purpose,
                      source_run=f"settlement:{day}:ALPHA", lines=tuple(lines))


def dr(account, amount, program, source=""):
    return LineDraft.dr(account, M(amount), program=program, counterparty="ALPHA",
                        source=source)


def cr(account, amount, program, source=""):
    return LineDraft.cr(account, M(amount), program=program, counterparty="ALPHA",
                        source=source)


@pytest.fixture
def worked_example(gl):
    journal_entries_post(drafts=[
        _entry("d1:disb", D1, "DISBURSEMENT",
               dr(c.LOANS_RECEIVABLE, "10000.00", "P1", "disb:P1:2026-03-02"),
               cr(c.DUE_TO_PLATFORM, "10000.00", "P1"),
               dr(c.LOANS_RECEIVABLE, "5000.00", "P2", "disb:P2:2026-03-02"),
               cr(c.DUE_TO_PLATFORM, "5000.00", "P2")),
    ])
    journal_entries_post(drafts=[
        _entry("d2:accrual", D2, "ACCRUAL",
               dr(c.INTEREST_RECEIVABLE, "3.50", "P1"), dr(c.INTEREST_RECEIVABLE, "1.05", "P2"),
               cr(c.INTEREST_INCOME, "3.50", "P1"), cr(c.INTEREST_INCOME, "1.05", "P2")),
        _entry("d2:offbal", D2, "OFF_BALANCE_ACCRUAL",
               dr(c.OFF_BALANCE_INTEREST, "0.70", "P2"), cr(c.OFF_BALANCE_CONTRA, "0.70", "P2")),
    ])
    journal_entries_post(drafts=[
        _entry("d3:collect", D3, "COLLECTION",
               dr(c.DUE_FROM_PLATFORM, "1003.50", "P1"),
               cr(c.LOANS_RECEIVABLE, "1000.00", "P1", "coll:P1:2026-03-04"),
               cr(c.INTEREST_RECEIVABLE, "3.50", "P1", "coll:P1:2026-03-04")),
        _entry("d3:accrual", D3, "ACCRUAL",
               dr(c.INTEREST_RECEIVABLE, "3.15", "P1"), cr(c.INTEREST_INCOME, "3.15", "P1")),
    ])
    journal_entry_reverse(entry=JournalEntry.objects.get(idempotency_key="d3:collect"),
                          business_date=D4, idempotency_key="d4:reverse-d3-collect")
    journal_entries_post(drafts=[
        _entry("d4:collect", D4, "COLLECTION",
               dr(c.DUE_FROM_PLATFORM, "503.50", "P1"),
               cr(c.LOANS_RECEIVABLE, "500.00", "P1", "coll:P1:2026-03-05"),
               cr(c.INTEREST_RECEIVABLE, "3.50", "P1", "coll:P1:2026-03-05")),
        _entry("d4:cash", D4, "SETTLEMENT_CASH",
               dr(c.CASH, "503.50", ""), cr(c.DUE_FROM_PLATFORM, "503.50", "P1")),
    ])


EXPECTED = {
    D1: {"1301": "15000.00", "1132": "0", "1221": "0", "1001": "0", "2241": "15000.00",
         "6011": "0", "7101": "0", "7199": "0"},
    D2: {"1301": "15000.00", "1132": "4.55", "1221": "0", "1001": "0", "2241": "15000.00",
         "6011": "4.55", "7101": "0.70", "7199": "0.70"},
    D3: {"1301": "14000.00", "1132": "4.20", "1221": "1003.50", "1001": "0", "2241": "15000.00",
         "6011": "7.70", "7101": "0.70", "7199": "0.70"},
    D4: {"1301": "14500.00", "1132": "4.20", "1221": "0", "1001": "503.50", "2241": "15000.00",
         "6011": "7.70", "7101": "0.70", "7199": "0.70"},
}
TOTALS = {D1: "15000.00", D2: "15005.25", D3: "15008.40", D4: "15008.40"}


@pytest.mark.parametrize("as_of", [D1, D2, D3, D4])
def test_account_balances_as_of_each_day(worked_example, as_of):
    for account, expected in EXPECTED[as_of].items():
        got = account_balance_get(book=c.BANK_GL, account=account, as_of=as_of).balance
        assert got == M(expected), (as_of, account)


@pytest.mark.parametrize("as_of", [D1, D2, D3, D4])
def test_trial_balance_as_of_each_day(worked_example, as_of):
    tb = trial_balance_list(book=c.BANK_GL, as_of=as_of, include_zero=False)
    assert tb.is_balanced
    assert tb.totals() == {"CNY": (M(TOTALS[as_of]), M(TOTALS[as_of]))}
    by_code = {r.code: r for r in tb}
    for account, expected in EXPECTED[as_of].items():
        row = by_code.get(account)
        balance = M(0) if row is None else (row.debit_balance or row.credit_balance)
        assert balance == M(expected), (as_of, account)


def test_trial_balance_before_any_posting_is_empty(worked_example):
    tb = trial_balance_list(book=c.BANK_GL, as_of=date(2026, 3, 1), include_zero=False)
    assert tb.rows == [] and tb.is_balanced


def test_dimension_slices(worked_example):
    def bal(account, **dims):
        return account_balance_get(book=c.BANK_GL, account=account, as_of=D4, **dims).balance

    assert bal("1301", program="P1") == M("9500.00")
    assert bal("1301", program="P2") == M("5000.00")
    assert bal("1132", program="P1") == M("3.15")
    assert bal("1132", program="P2") == M("1.05")
    assert bal("1301", counterparty="ALPHA") == M("14500.00")
    assert bal("1301", program="P3") == M("0")


def test_account_lines_between_dates_with_source_and_running_balance(worked_example):
    lines = account_lines_list(book=c.BANK_GL, account="1301", date_from=D3, date_to=D4)
    assert [(ln.business_date, ln.debit, ln.credit, ln.running_balance, ln.source)
            for ln in lines] == [
        (D3, M("0"), M("1000.00"), M("14000.00"), "coll:P1:2026-03-04"),
        (D4, M("1000.00"), M("0"), M("15000.00"), "coll:P1:2026-03-04"),
        (D4, M("0"), M("500.00"), M("14500.00"), "coll:P1:2026-03-05"),
    ]
    assert lines[1].purpose == "REVERSAL" and lines[1].reverses_id == lines[0].entry_id
    assert lines[0].source_run == "settlement:2026-03-04:ALPHA"
    only_p2 = account_lines_list(book=c.BANK_GL, account="1301", date_from=D1, date_to=D4,
                                 program="P2")
    assert [(ln.debit, ln.source) for ln in only_p2] == [(M("5000.00"), "disb:P2:2026-03-02")]


def test_reposting_the_whole_example_changes_nothing(worked_example):
    tb_before = trial_balance_list(book=c.BANK_GL, as_of=D4)
    result = journal_entries_post(drafts=[
        _entry("d1:disb", D1, "DISBURSEMENT",
               dr(c.LOANS_RECEIVABLE, "10000.00", "P1"), cr(c.DUE_TO_PLATFORM, "10000.00", "P1")),
    ])
    assert result.skipped_keys == ("d1:disb",)
    assert trial_balance_list(book=c.BANK_GL, as_of=D4).rows == tb_before.rows
