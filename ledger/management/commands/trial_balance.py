"""Print a book's trial balance as of a date: table, CSV or JSON."""

from __future__ import annotations

import csv
import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from ledger.domain.errors import LedgerError
from ledger.selectors import trial_balance_list

COLUMNS = ["code", "key", "name", "type", "currency", "debit_total", "credit_total",
           "debit_balance", "credit_balance"]


class Command(BaseCommand):
    help = "Trial balance of a book as of a business date."

    def add_arguments(self, parser):
        parser.add_argument("--book", required=True, help="book code, e.g. BANK_GL")
        parser.add_argument("--date", required=True, type=date.fromisoformat,
                            help="as-of business date, YYYY-MM-DD")
        parser.add_argument("--format", choices=["table", "csv", "json"], default="table")
        parser.add_argument("--nonzero", action="store_true", help="omit accounts with no lines")

    def handle(self, *args, **opts):
        try:
            tb = trial_balance_list(book=opts["book"], as_of=opts["date"],
                                    include_zero=not opts["nonzero"])
        except LedgerError as exc:
            raise CommandError(str(exc)) from exc
        rows = [
            [r.code, r.key, r.name, r.type, r.currency, r.debit_total, r.credit_total,
             r.debit_balance, r.credit_balance]
            for r in tb
        ]
        totals = tb.totals()
        fmt = opts["format"]
        if fmt == "json":
            self.stdout.write(json.dumps({
                "book": tb.book,
                "as_of": tb.as_of.isoformat(),
                "balanced": tb.is_balanced,
                "rows": [dict(zip(COLUMNS, map(_plain, r), strict=True)) for r in rows],
                "totals": {cur: {"debit_balance": str(d), "credit_balance": str(c)}
                           for cur, (d, c) in sorted(totals.items())},
            }, ensure_ascii=False, indent=2))
        elif fmt == "csv":
            writer = csv.writer(self.stdout, lineterminator="\n")
            writer.writerow(COLUMNS)
            writer.writerows([[_plain(v) for v in r] for r in rows])
        else:
            self.stdout.write(f"Trial balance {tb.book} as of {tb.as_of}")
            self.stdout.write(f"{'code':<6} {'key':<28} {'cur':<4} {'debit':>18} {'credit':>18}")
            for r in tb:
                self.stdout.write(
                    f"{r.code:<6} {r.key:<28} {r.currency:<4} {r.debit_balance:>18,.2f}"
                    f" {r.credit_balance:>18,.2f}"
                )
            for cur, (d, c) in sorted(totals.items()):
                self.stdout.write(f"{'TOTAL':<6} {'':<28} {cur:<4} {d:>18,.2f} {c:>18,.2f}")
            self.stdout.write("balanced" if tb.is_balanced else "NOT BALANCED")
        if not tb.is_balanced:
            raise CommandError(f"trial balance of {tb.book} as of {tb.as_of} does not balance")


def _plain(value):
    return str(value) if not isinstance(value, str) else value
