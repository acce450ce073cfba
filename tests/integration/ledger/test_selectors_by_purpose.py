"""The ledger selectors the reconciliation's rounding account asks (issue 23): what the entries
of one purpose hold per program and source, the latest one per program, how many on a date; and
the package re-exports every public name of its modules."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import date
from decimal import Decimal as D

import pytest

from ledger import selectors
from ledger.domain import chart
from ledger.domain.drafts import EntryDraft, LineDraft
from ledger.services import journal_entries_post, memo_book_ensure

DAY1, DAY2, DAY3 = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)
ROUNDING, FUNDING = chart.ROUNDING, chart.PARTNER_FUNDING
PURPOSE = "RECON_ROUNDING"


def _entry(key, day, moves, *, book, purpose=PURPOSE):
    """moves: (program, source, amount); a positive amount credits ROUNDING, a negative one
    debits it, against PARTNER_FUNDING (in BANK_GL, against CASH: it has no PARTNER_FUNDING)."""
    other = FUNDING if book != chart.BANK_GL else chart.CASH
    lines = []
    for program, source, amount in moves:
        value = D(amount)
        rounding, funding = (LineDraft.cr, LineDraft.dr) if value > 0 else (LineDraft.dr,
                                                                             LineDraft.cr)
        lines += [rounding(ROUNDING, abs(value), program=program, source=source),
                  funding(other, abs(value), program=program, source=source)]
    return EntryDraft(book=book, business_date=day, idempotency_key=key, purpose=purpose,
                      lines=tuple(lines))


@pytest.fixture
def posted(gl):
    memo = memo_book_ensure(partner_code="ALPHA").code
    memo_b = memo_book_ensure(partner_code="BETA").code
    result = journal_entries_post(drafts=[
        _entry("r1", DAY1, [("A/P1", "rounding:INTEREST", "0.03"),
                            ("A/P1", "rounding:PRINCIPAL", "-0.01")], book=memo),
        _entry("r2", DAY2, [("A/P1", "rounding:INTEREST", "-0.03"),
                            ("A/P2", "rounding:INTEREST", "-0.05")], book=memo),
        _entry("r2b", DAY2, [("A/P2", "rounding:PENALTY", "0.02")], book=memo),
        _entry("r3", DAY3, [("A/P1", "rounding:PENALTY", "0.04")], book=memo),
        # not asked about: another purpose on the same account, another book, the bank's GL
        _entry("o1", DAY2, [("A/P1", "rounding:INTEREST", "9.00")], book=memo, purpose="OTHER"),
        _entry("b1", DAY2, [("A/P1", "rounding:INTEREST", "7.00")], book=memo_b),
        _entry("g1", DAY1, [("A/P1", "rounding:INTEREST", "5.00")], book=chart.BANK_GL),
    ])
    return memo, result.entry_ids


def test_purpose_balances_by_program_source(posted):
    memo, _ids = posted
    got = selectors.purpose_balances_by_program_source(book=memo, purpose=PURPOSE,
                                                       account=ROUNDING)
    # debit − credit of the ROUNDING lines only (PARTNER_FUNDING mirrors them), every date
    assert got == {("A/P1", "rounding:INTEREST"): (D("0.00"), DAY2),
                   ("A/P1", "rounding:PRINCIPAL"): (D("0.01"), DAY1),
                   ("A/P1", "rounding:PENALTY"): (D("-0.04"), DAY3),
                   ("A/P2", "rounding:INTEREST"): (D("0.05"), DAY2),
                   ("A/P2", "rounding:PENALTY"): (D("-0.02"), DAY2)}
    funding = selectors.purpose_balances_by_program_source(book=memo, purpose=PURPOSE,
                                                           account=FUNDING)
    assert {k: v for k, (v, _day) in funding.items()} == {k: -v for k, (v, _day) in got.items()}
    assert selectors.purpose_balances_by_program_source(book=memo, purpose="NONE",
                                                        account=ROUNDING) == {}


def test_purpose_latest_entry_by_program(posted):
    memo, ids = posted
    assert selectors.purpose_latest_entry_by_program(
        book=memo, purpose=PURPOSE, as_of=DAY1) == {"A/P1": ids["r1"]}
    # on DAY2 two entries have A/P2 lines: the later id wins; A/P1's DAY3 entry is not yet
    assert ids["r2b"] > ids["r2"]
    assert selectors.purpose_latest_entry_by_program(
        book=memo, purpose=PURPOSE, as_of=DAY2) == {"A/P1": ids["r2"], "A/P2": ids["r2b"]}
    assert selectors.purpose_latest_entry_by_program(
        book=memo, purpose=PURPOSE, as_of=DAY3) == {"A/P1": ids["r3"], "A/P2": ids["r2b"]}
    assert selectors.purpose_latest_entry_by_program(
        book=memo, purpose=PURPOSE, as_of=date(2026, 3, 1)) == {}


def test_purpose_entries_count(posted):
    memo, _ids = posted
    counts = [selectors.purpose_entries_count(book=memo, purpose=PURPOSE, business_date=day)
              for day in (date(2026, 3, 1), DAY1, DAY2, DAY3)]
    assert counts == [0, 1, 2, 1]
    assert selectors.purpose_entries_count(book=chart.BANK_GL, purpose=PURPOSE,
                                           business_date=DAY1) == 1
    assert selectors.purpose_entries_count(book="MEMO_NOBODY", purpose=PURPOSE,
                                           business_date=DAY1) == 0


def test_the_package_reexports_every_public_name():
    defined = {}
    for info in pkgutil.iter_modules(selectors.__path__):
        module = importlib.import_module(f"{selectors.__name__}.{info.name}")
        defined.update({name: obj for name, obj in vars(module).items()
                        if not name.startswith("_") and callable(obj)
                        and getattr(obj, "__module__", None) == module.__name__})
    assert {"account_balance_get", "trial_balance_list", "balances_by_source_run",
            "purpose_entries_count", "UnknownLedgerObject"} <= set(defined)
    assert {name: getattr(selectors, name, None) for name in defined} == defined
    assert sorted(selectors.__all__) == sorted(defined)
