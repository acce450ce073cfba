"""Rounding differences with a partner cleared into the rounding account (尾差), per program/day.

DOMAIN §4.3: an amount difference within a configured tolerance is auto-cleared into a rounding
account, with a linked adjustment entry. What is posted, and where:

- The bank's recomputation is the book of record. The bank's GL (BANK_GL) and the sub-ledger
  control accounts of every book (1301, 1132, 1133, 7101: the `subledger_equals_gl` check, and
  the accrual delta that would undo any other posting to them the next day) are never touched
  by a partner's differing figure.
- The difference is the partner's: theirs − ours, on the loan's total, whatever the split (the
  bank's share is what the bank computes; a different total falls on the partner's part, as
  every split remainder does, 尾差归合作方). It is held in the partner's memo book
  MEMO_<CODE>: 6903 ROUNDING against 3001 PARTNER_FUNDING (the partner's own funding of the
  joint loans, the one memo account no sub-ledger control ties). Theirs above ours credits
  ROUNDING; below, debits it.
- The rounding account holds the differences standing on the latest reconciled date, set as a
  delta the way the accruals are (DOMAIN §5, "posting = target − current balance"): per
  program and field, target = Σ of the day's within-tolerance differences; one entry per
  program and day with the deltas (never per loan). A difference that persists posts nothing
  again; one that goes away (the partner corrects it, the loan closes) is released; a rerun of
  the date posts nothing. A date older than the latest posted one posts nothing (the later
  date set the level).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction

from ledger import selectors as ledger_selectors
from ledger import services as ledger
from ledger.domain import chart
from ledger.domain.drafts import EntryDraft, LineDraft
from lending.reconciliation.models import MAX_AMOUNT_TOLERANCE, ReconciliationTolerance

log = logging.getLogger(__name__)

ZERO = Decimal("0.00")
PURPOSE = "RECON_ROUNDING"
SOURCE_PREFIX = "rounding:"  # + the break field (PRINCIPAL, INTEREST, PENALTY)


class ToleranceError(ValueError):
    """A tolerance outside 0 … MAX_AMOUNT_TOLERANCE, or not an amount in fen."""


def tolerance_set(*, program, amount_tolerance, note: str = "") -> ReconciliationTolerance:
    """Set a program's rounding tolerance (0 … 1.00 in fen); returns the stored setting."""
    try:
        amount = Decimal(str(amount_tolerance).strip())
    except ArithmeticError as exc:
        raise ToleranceError(f"{amount_tolerance!r} is not an amount") from exc
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise ToleranceError(f"{amount_tolerance!r} is not an amount in fen (2 decimals)")
    if not ZERO <= amount <= MAX_AMOUNT_TOLERANCE:
        raise ToleranceError(f"a rounding tolerance is 0 to {MAX_AMOUNT_TOLERANCE}, not "
                             f"{amount}: beyond that a difference is a break to look at")
    with transaction.atomic():
        row, _ = ReconciliationTolerance.objects.update_or_create(
            program=program, defaults={"amount_tolerance": amount, "note": note.strip()})
    return row


def program_dimension(partner_code: str, program_code: str) -> str:
    """The GL's program dimension, as the settlement posts it (lending.settlement.posting,
    which this package may not import)."""
    return f"{partner_code}/{program_code}"


@dataclass
class RoundingResult:
    entries: int = 0  # entries posted (one per program with a delta)
    skipped_older_date: bool = False
    # program_id → the rounding entry holding the program's differences on the date
    entry_of_program: dict[int, int] | None = None


_TARGETS_SQL = """
SELECT d.program_id, g.code, g.currency, d.field, sum(d.difference)
  FROM recon_diff d JOIN lending_program g ON g.id = d.program_id
 WHERE d.within
 GROUP BY 1, 2, 3, 4
"""

def rounding_post(cur, *, partner_code: str, business_date: date) -> RoundingResult:
    """Set the partner's rounding account to the day's within-tolerance differences (table
    `recon_diff` of breaks_reconcile, same transaction); one entry per program with a delta."""
    result = RoundingResult(entry_of_program={})
    book = chart.memo_book_code(partner_code)
    cur.execute(_TARGETS_SQL)
    targets: dict[tuple[str, str], Decimal] = {}
    programs: dict[str, tuple[int, str, str]] = {}
    for program_id, code, currency, field, total in cur.fetchall():
        dim = program_dimension(partner_code, code)
        targets[(dim, SOURCE_PREFIX + field)] = total
        programs[dim] = (program_id, code, currency)
    # what the rounding account holds per program dimension and field (all dates), on its
    # credit side, and when it was last set
    held: dict[tuple[str, str], Decimal] = {}
    latest = None
    for key, (net, last_day) in ledger_selectors.purpose_balances_by_program_source(
            book=book, purpose=PURPOSE, account=chart.ROUNDING).items():
        held[key] = -net
        latest = last_day if latest is None else max(latest, last_day)
    if not targets and not held:  # nothing within the tolerance, ever: no book to touch
        return result
    if latest is not None and latest > business_date:
        result.skipped_older_date = True
    else:
        if held:
            cur.execute("SELECT p.id, p.code, p.currency FROM lending_program p"
                        " JOIN partners_partner r ON r.id = p.partner_id WHERE r.code = %s",
                        [partner_code])
            for program_id, code, currency in cur.fetchall():
                programs.setdefault(program_dimension(partner_code, code),
                                    (program_id, code, currency))
        deltas: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
        for key in sorted(set(targets) | set(held)):
            delta = targets.get(key, ZERO) - held.get(key, ZERO)
            if delta:
                deltas[key[0]].append((key[1], delta))
        drafts = [_draft(book, business_date, dim, programs[dim], moves)
                  for dim, moves in sorted(deltas.items())]
        if drafts:
            ledger.memo_book_ensure(partner_code=partner_code)
            # a second posting on the same date (a rerun after the file changed) gets its own key
            n = ledger_selectors.purpose_entries_count(book=book, purpose=PURPOSE,
                                                       business_date=business_date)
            drafts = [EntryDraft(book=d.book, business_date=d.business_date,
                                 idempotency_key=f"{d.idempotency_key}:{n + 1}",
                                 purpose=d.purpose, lines=d.lines, memo=d.memo)
                      for d in drafts]
            result.entries = ledger.journal_entries_post(drafts=drafts).posted_count
    if not targets:  # no break of the date to link
        return result
    # the latest rounding entry per program dimension on or before the date
    by_dim = ledger_selectors.purpose_latest_entry_by_program(book=book, purpose=PURPOSE,
                                                              as_of=business_date)
    result.entry_of_program = {programs[dim][0]: by_dim[dim] for dim in programs
                               if dim in by_dim}
    log.info("reconcile rounding book=%s date=%s entries=%d older=%s", book, business_date,
             result.entries, result.skipped_older_date)
    return result


def _draft(book: str, day: date, dim: str, program: tuple[int, str, str],
           moves: list[tuple[str, Decimal]]) -> EntryDraft:
    """Credit ROUNDING by each positive delta (theirs above ours) against PARTNER_FUNDING;
    a negative delta the mirror."""
    _program_id, code, currency = program
    lines: list[LineDraft] = []
    for source, delta in moves:
        amount = abs(delta)
        rounding, funding = ((LineDraft.cr, LineDraft.dr) if delta > 0
                             else (LineDraft.dr, LineDraft.cr))
        lines.append(rounding(chart.ROUNDING, amount, currency=currency, program=dim,
                              source=source))
        lines.append(funding(chart.PARTNER_FUNDING, amount, currency=currency, program=dim,
                             source=source))
    return EntryDraft(book=book, business_date=day,
                      idempotency_key=f"recon:{day:%Y-%m-%d}:{book}:{code}:ROUNDING",
                      purpose=PURPOSE, lines=tuple(lines),
                      memo=f"rounding differences with the partner within the tolerance of "
                           f"{dim} on {day}")
