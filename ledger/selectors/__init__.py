"""Ledger reads. Aggregates are computed by PostgreSQL, never by looping over lines in Python.

The only way into the ledger's tables from outside `ledger/` (issue 23): every public name of
the modules below is re-exported here, so callers write `from ledger.selectors import X` or
`ledger.selectors.X` whichever module holds it.

- accounts: one account's balance and lines (and UnknownLedgerObject);
- trial_balance: a book's trial balance, unbalanced entries, the books;
- dimensions: balances by book, account, program, counterparty and source run (settlement);
- purposes: the entries of one purpose per program and source (the reconciliation's rounding).
"""

from ledger.selectors.accounts import (
    AccountBalance,
    AccountLine,
    UnknownLedgerObject,
    account_balance_get,
    account_lines_list,
)
from ledger.selectors.dimensions import (
    balances_by_book_account_program,
    balances_by_source_run,
    counterparty_balances_by_account_program,
    line_sources_list,
    lines_canonical_list,
)
from ledger.selectors.purposes import (
    purpose_balances_by_program_source,
    purpose_entries_count,
    purpose_latest_entry_by_program,
)
from ledger.selectors.trial_balance import (
    TrialBalance,
    TrialBalanceRow,
    book_codes_list,
    entries_unbalanced_list,
    trial_balance_list,
)

__all__ = [
    "AccountBalance",
    "AccountLine",
    "TrialBalance",
    "TrialBalanceRow",
    "UnknownLedgerObject",
    "account_balance_get",
    "account_lines_list",
    "balances_by_book_account_program",
    "balances_by_source_run",
    "book_codes_list",
    "counterparty_balances_by_account_program",
    "entries_unbalanced_list",
    "line_sources_list",
    "lines_canonical_list",
    "purpose_balances_by_program_source",
    "purpose_entries_count",
    "purpose_latest_entry_by_program",
    "trial_balance_list",
]
