"""The bank statement: its CSV read into lines, and the lines recorded as the statements'
payments (lending.settlement.statements_payments), idempotent by the bank's line id."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction

from lending.settlement.models import PaymentSource, StatementPayment
from lending.settlement.statements_base import StatementError, UnknownReference
from lending.settlement.statements_payments import money, statement_payment_record

if TYPE_CHECKING:
    from django.contrib.auth.models import User

BANK_CSV_COLUMNS = ("value_date", "amount", "reference", "bank_line_id")


@dataclass
class BankLine:
    line: int  # the CSV's line number (the header is line 1)
    value_date: date
    amount: Decimal
    reference: str
    bank_line_id: str


@dataclass
class BankImport:
    applied: list[dict[str, Any]] = field(default_factory=list)
    already_imported: list[dict[str, Any]] = field(default_factory=list)
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"applied": len(self.applied), "already_imported": len(self.already_imported),
                "unmatched": self.unmatched, "errors": self.errors,
                "payments": self.applied}


def _line_of(no: int, cell: dict[str, str], seen: dict[str, int]
             ) -> tuple[BankLine | None, list[str]]:
    """One CSV row's cells as a line, or the problems of its cells (naming line and column);
    `seen` maps the bank line ids met so far to their line."""
    problems = []
    value_date = amount = None
    try:
        value_date = date.fromisoformat(cell["value_date"])
    except ValueError:
        problems.append(f"line {no}, column value_date: {cell['value_date']!r} is not a "
                        "date (YYYY-MM-DD)")
    try:
        amount = money(cell["amount"])
    except StatementError as exc:
        problems.append(f"line {no}, column amount: {exc}")
    if not cell["reference"]:
        problems.append(f"line {no}, column reference: empty")
    if not cell["bank_line_id"]:
        problems.append(f"line {no}, column bank_line_id: empty")
    elif len(cell["bank_line_id"]) > 64:
        problems.append(f"line {no}, column bank_line_id: longer than 64 characters")
    elif cell["bank_line_id"] in seen:
        problems.append(f"line {no}, column bank_line_id: {cell['bank_line_id']!r} is "
                        f"also on line {seen[cell['bank_line_id']]}")
    else:
        seen[cell["bank_line_id"]] = no
    if problems or value_date is None or amount is None:
        return None, problems
    return BankLine(no, value_date, amount, cell["reference"], cell["bank_line_id"]), []


def bank_statement_parse(text: str) -> tuple[list[BankLine], list[str]]:
    """The bank statement CSV (columns value_date, amount, reference, bank_line_id; a header
    row; any column order; other columns ignored) as lines, and one error per bad cell or row,
    naming the line and the column."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return [], ["line 1: the file is empty (expected the header "
                    f"{','.join(BANK_CSV_COLUMNS)})"]
    missing = [c for c in BANK_CSV_COLUMNS if c not in header]
    if missing:
        return [], [f"line 1: missing column(s) {', '.join(missing)} (expected "
                    f"{','.join(BANK_CSV_COLUMNS)})"]
    index = {c: header.index(c) for c in BANK_CSV_COLUMNS}
    lines: list[BankLine] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for no, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        if len(row) != len(header):
            errors.append(f"line {no}: {len(row)} columns, the header has {len(header)}")
            continue
        line, problems = _line_of(no, {c: row[i].strip() for c, i in index.items()}, seen)
        errors += problems
        if line is not None:
            lines.append(line)
    return lines, errors


def bank_statement_import(*, lines: Iterable[BankLine],
                          recorded_by: User | None = None) -> BankImport:
    """Record the bank statement's lines as payments, all or nothing: a line already imported
    (its bank line id) is skipped, a line whose reference matches no statement is reported as
    unmatched (and tried again by the next import), and any refused line rolls every line back
    (`errors` names each one's line and column)."""
    out = BankImport()
    lines = list(lines)
    known = dict(StatementPayment.objects.filter(
        bank_line_id__in=[ln.bank_line_id for ln in lines])
        .values_list("bank_line_id", "pk"))
    with transaction.atomic():
        for ln in lines:
            row = {"line": ln.line, "bank_line_id": ln.bank_line_id, "reference": ln.reference,
                   "value_date": ln.value_date.isoformat(), "amount": str(ln.amount)}
            if ln.bank_line_id in known:
                previous = StatementPayment.objects.get(pk=known[ln.bank_line_id])
                if (previous.reference, previous.value_date, previous.amount) != \
                        (ln.reference, ln.value_date, ln.amount):
                    out.errors.append(
                        f"line {ln.line}, column bank_line_id: {ln.bank_line_id!r} was imported "
                        f"before as {previous.reference} {previous.value_date} "
                        f"{previous.amount}, not {ln.reference} {ln.value_date} {ln.amount}")
                else:
                    out.already_imported.append(row)
                continue
            try:
                payment = statement_payment_record(
                    reference=ln.reference, value_date=ln.value_date, amount=ln.amount,
                    source=PaymentSource.BANK_STATEMENT, recorded_by=recorded_by,
                    bank_line_id=ln.bank_line_id)
            except UnknownReference:
                out.unmatched.append(row)
            except StatementError as exc:
                out.errors.append(f"line {ln.line}, column {exc.field or 'reference'}: {exc}")
            else:
                out.applied.append({**row, "payment": payment.pk,
                                    "statement": payment.statement_id,
                                    "statement_status": payment.statement.status})
        if out.errors:
            transaction.set_rollback(True)
            out.applied = []
    return out
