"""How a statement's payment posts, and a counterparty's running balance in the GL.

A payment posts in BANK_GL through `ledger.services.journal_entries_post`, one entry per
payment, idempotency key `statement-payment:<payment id>`, business date = the value date,
every line with the counterparty's code:

- the statement's run posted its gross amounts to the settlement accounts (due from platform
  1221, due from guarantor 1222, due to platform 2241, fee payable 2242, payable to guarantor
  2243) per program, and Σ of them (debit − credit) is its net amount (the `statements_tie`
  check);
- the first payment's entry clears every one of those gross balances (per account and program)
  and puts the net on one account: due from (1221, or 1222 for a guarantor) when the
  counterparty pays, due to (2241, or 2243) when the bank pays;
- every payment then moves that net against cash 1001: Dr 1001 / Cr due-from when the
  counterparty pays, Dr due-to / Cr 1001 when the bank pays.

Lines are netted per (account, program), so a statement paid at once in full is one entry
"Dr 2241 gross due-to, Cr 1221 gross due-from, Dr 1001 the net" (platform paying). A statement
that nets to zero is cleared the same way when it is issued, with no cash (`netting_post`). The
counterparty's running balance — Σ debit − credit of its settlement accounts in BANK_GL
(`counterparty_balance`) — goes down by each payment's amount; a statement fully paid leaves
nothing on them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from ledger import selectors as ledger_selectors
from ledger import services as ledger
from ledger.domain import chart
from ledger.domain.drafts import EntryDraft, LineDraft
from lending.settlement import posting
from lending.settlement.models import Statement
from lending.settlement.statements_base import ZERO, StatementError

# The accounts a statement's amounts post to (lending.settlement.posting_rules) and the
# counterparty's running balance is read from; the same set as the statements_tie check.
SETTLEMENT_ACCOUNTS = (chart.DUE_FROM_PLATFORM, chart.DUE_FROM_GUARANTOR, chart.DUE_TO_PLATFORM,
                       chart.FEE_PAYABLE, chart.CLAIM_PAYABLE_TO_GUARANTOR)
PAYMENT_PURPOSE = "STATEMENT_PAYMENT"
NETTING_PURPOSE = "STATEMENT_NETTING"

# (account, program) → signed amount, debit +
Lines = dict[tuple[str, str], Decimal]


def _is_guarantor_statement(st: Statement) -> bool:
    return st.counterparty_id != st.run.partner_id


def _gross(st: Statement) -> Lines:
    """(account, program) → debit − credit that the statement's run posted in BANK_GL to the
    counterparty's settlement accounts: the statement's gross amounts (Σ = its net)."""
    gross = ledger_selectors.counterparty_balances_by_account_program(
        book=chart.BANK_GL, counterparty=st.counterparty.code, accounts=SETTLEMENT_ACCOUNTS,
        source_run=posting.run_key(st.run))
    return {k: v for k, v in gross.items() if v}


def net_account(st: Statement) -> str:
    """Where the first payment puts the statement's net: due from (it pays), due to (paid)."""
    guarantor = _is_guarantor_statement(st)
    if st.net_amount > 0:
        return chart.DUE_FROM_GUARANTOR if guarantor else chart.DUE_FROM_PLATFORM
    return chart.CLAIM_PAYABLE_TO_GUARANTOR if guarantor else chart.DUE_TO_PLATFORM


def netting_lines(st: Statement) -> Lines:
    """Signed (debit +) lines that clear the statement's gross balances and hold its net on
    one account; refuses a statement that does not tie to its postings."""
    gross = _gross(st)
    total = sum(gross.values(), ZERO)
    if total != st.net_amount:
        raise StatementError(f"statement {st.payment_reference or st.pk} nets {st.net_amount} "
                             f"but its run posted {total} to its settlement accounts: "
                             "check_ledger first")
    lines: defaultdict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for key, amount in gross.items():
        lines[key] -= amount
    if st.net_amount:
        lines[(net_account(st), "")] += st.net_amount
    return {k: v for k, v in lines.items() if v}


def line_drafts(lines: Lines, *, counterparty: str, source: str) -> tuple[LineDraft, ...]:
    """The signed lines as ledger line drafts (zero lines dropped), in account order."""
    out = []
    for (account, program), amount in sorted(lines.items()):
        if amount > 0:
            out.append(LineDraft.dr(account, amount, program=program,
                                    counterparty=counterparty, source=source))
        elif amount < 0:
            out.append(LineDraft.cr(account, -amount, program=program,
                                    counterparty=counterparty, source=source))
    return tuple(out)


def netting_post(st: Statement) -> None:
    """Clear the gross balances of a statement that nets to zero: one entry, no cash."""
    lines = netting_lines(st)
    if lines:
        ledger.journal_entries_post(drafts=[EntryDraft(
            book=chart.BANK_GL, business_date=st.business_date,
            idempotency_key=f"statement-netting:{st.pk}", purpose=NETTING_PURPOSE,
            lines=line_drafts(lines, counterparty=st.counterparty.code,
                              source=f"statement:{st.pk}"),
            source_run=f"statement:{st.pk}", memo=st.payment_reference)])


def payment_lines(st: Statement, *, amount: Decimal, first: bool) -> Lines:
    """A payment's signed lines: the statement's netting on its first payment, then the
    amount moved between cash and the account holding the net."""
    lines: defaultdict[tuple[str, str], Decimal] = defaultdict(
        lambda: ZERO, netting_lines(st) if first else {})
    lines[(chart.CASH, "")] += amount
    lines[(net_account(st), "")] -= amount
    return dict(lines)


def counterparty_balance(*, counterparty_code: str, as_of: date | None = None
                         ) -> dict[str, Decimal]:
    """A counterparty's running balance from the GL: per settlement account, debit − credit of
    every BANK_GL line with its code (dated up to `as_of`, default all), and their Σ under
    "TOTAL" (+: it owes the bank; −: the bank owes it)."""
    found: defaultdict[str, Decimal] = defaultdict(lambda: ZERO)
    for (account, _program), amount in ledger_selectors.counterparty_balances_by_account_program(
            book=chart.BANK_GL, counterparty=counterparty_code, accounts=SETTLEMENT_ACCOUNTS,
            as_of=as_of).items():
        found[account] += amount
    out = {code: found.get(code) or ZERO for code in SETTLEMENT_ACCOUNTS}
    out["TOTAL"] = sum(out.values(), ZERO)
    return out
