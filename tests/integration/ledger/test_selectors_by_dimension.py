"""The ledger selectors the settlement asks (issue 23): balances by book, account and program;
a counterparty's balances; a source run's net; the lines in canonical order."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from ledger import selectors
from ledger.domain import chart
from ledger.domain.drafts import EntryDraft, LineDraft
from ledger.services import journal_entries_post, memo_book_ensure

pytestmark = pytest.mark.django_db

DAY1, DAY2 = date(2026, 3, 2), date(2026, 3, 3)
RECV, DUE_TO, DUE_FROM = chart.LOANS_RECEIVABLE, chart.DUE_TO_PLATFORM, chart.DUE_FROM_PLATFORM


def _entry(key, day, lines, *, book=chart.BANK_GL, run="settle:x"):
    return EntryDraft(book=book, business_date=day, idempotency_key=key, purpose="T",
                      lines=tuple(lines), source_run=run)


def _pair(dr, cr, amount, **dims):
    return [LineDraft.dr(dr, D(amount), **dims), LineDraft.cr(cr, D(amount), **dims)]


@pytest.fixture
def posted(gl):
    memo = memo_book_ensure(partner_code="ALPHA").code
    journal_entries_post(drafts=[
        _entry("a", DAY1, _pair(RECV, DUE_TO, "100.00", program="A_X/P1", counterparty="A_X",
                                source="mv:7:1:2:DISBURSE:PRINCIPAL:0"), run="settle:r1"),
        _entry("b", DAY2, _pair(RECV, DUE_TO, "30.00", program="A_X/P1", counterparty="A_X",
                                source="accrual"), run="settle:r2"),
        _entry("c", DAY1, _pair(RECV, DUE_TO, "5.00", program="A_X/P2", counterparty="BETA"),
               run="settle:r1"),
        _entry("d", DAY1, _pair(RECV, DUE_TO, "7.00", program="AYX/P1", counterparty="A_X"),
               run="settle:r1"),
        _entry("e", DAY1, _pair(RECV, DUE_FROM, "11.00", program="A_X/P1"), book=memo,
               run="settle:r1"),
    ])
    return memo


def test_balances_by_book_account_program(posted):
    got = selectors.balances_by_book_account_program(accounts=[RECV], as_of=DAY1,
                                                     program_prefix="A_X/")
    # the prefix is literal: AYX/P1 is not A_X/...; DAY2's 30.00 is after as_of
    assert got == {(chart.BANK_GL, RECV, "A_X/P1"): D("100.00"),
                   (chart.BANK_GL, RECV, "A_X/P2"): D("5.00"),
                   (posted, RECV, "A_X/P1"): D("11.00")}
    got = selectors.balances_by_book_account_program(accounts=[RECV, DUE_TO], as_of=DAY2,
                                                     programs=["A_X/P1"])
    assert got == {(chart.BANK_GL, RECV, "A_X/P1"): D("130.00"),
                   (chart.BANK_GL, DUE_TO, "A_X/P1"): D("-130.00"),
                   (posted, RECV, "A_X/P1"): D("11.00")}


def test_counterparty_balances_by_account_program(posted):
    every = selectors.counterparty_balances_by_account_program(
        book=chart.BANK_GL, counterparty="A_X", accounts=[RECV, DUE_TO])
    assert every == {(RECV, "A_X/P1"): D("130.00"), (RECV, "AYX/P1"): D("7.00"),
                     (DUE_TO, "A_X/P1"): D("-130.00"), (DUE_TO, "AYX/P1"): D("-7.00")}
    one_run = selectors.counterparty_balances_by_account_program(
        book=chart.BANK_GL, counterparty="A_X", accounts=[DUE_TO], source_run="settle:r2")
    assert one_run == {(DUE_TO, "A_X/P1"): D("-30.00")}
    to_day1 = selectors.counterparty_balances_by_account_program(
        book=chart.BANK_GL, counterparty="A_X", accounts=[RECV], as_of=DAY1)
    assert to_day1 == {(RECV, "A_X/P1"): D("100.00"), (RECV, "AYX/P1"): D("7.00")}


def test_balances_by_source_run(posted):
    got = selectors.balances_by_source_run(book=chart.BANK_GL, accounts=[DUE_TO],
                                           source_runs=["settle:r1", "settle:r2", "none"])
    assert got == {"settle:r1": D("-112.00"), "settle:r2": D("-30.00")}


def test_lines_canonical_list_relabels_sources(posted):
    assert selectors.line_sources_list(business_date=DAY1, source_run_like="settle:r1") == [
        "", "mv:7:1:2:DISBURSE:PRINCIPAL:0"]
    rows = selectors.lines_canonical_list(
        business_date=DAY1, source_run_like="settle:%",
        source_labels={"mv:7:1:2:DISBURSE:PRINCIPAL:0": "mv:P1:ALPHA:DISBURSE:PRINCIPAL:0"})
    assert [(r[0], r[1], r[3], r[4], r[6], r[7], r[8]) for r in rows] == [
        ("a", chart.BANK_GL, RECV, "A_X/P1", "mv:P1:ALPHA:DISBURSE:PRINCIPAL:0", D("100.00"),
         D("0.00")),
        ("a", chart.BANK_GL, DUE_TO, "A_X/P1", "mv:P1:ALPHA:DISBURSE:PRINCIPAL:0", D("0.00"),
         D("100.00")),
        ("c", chart.BANK_GL, RECV, "A_X/P2", "", D("5.00"), D("0.00")),
        ("c", chart.BANK_GL, DUE_TO, "A_X/P2", "", D("0.00"), D("5.00")),
        ("d", chart.BANK_GL, RECV, "AYX/P1", "", D("7.00"), D("0.00")),
        ("d", chart.BANK_GL, DUE_TO, "AYX/P1", "", D("0.00"), D("7.00")),
        ("e", posted, DUE_FROM, "A_X/P1", "", D("0.00"), D("11.00")),
        ("e", posted, RECV, "A_X/P1", "", D("11.00"), D("0.00")),
    ]
    gone = selectors.lines_canonical_list(business_date=DAY1, source_run_like="settle:r1",
                                          source_labels={"mv:7:1:2:DISBURSE:PRINCIPAL:0": None})
    assert gone[0][6] is None
