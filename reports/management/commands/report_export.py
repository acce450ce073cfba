"""`manage.py report_export trial_balance|loan_snapshot … --output PATH.xlsx|PATH.csv`: the
command-line reports as the pages download them (reports.exports): CSV with a byte-order mark,
or XLSX with money as numbers, the header frozen, one sheet. The format is the output's
extension."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ledger.domain.errors import LedgerError
from ledger.selectors import trial_balance_list
from partners.models import Partner
from reports import exports
from reports.selectors import partner as partner_selectors

TB_HEADER = ["code", "key", "name", "type", "currency", "debit_total", "credit_total",
             "debit_balance", "credit_balance"]


def trial_balance_table(*, book: str, as_of: date) -> exports.Table:
    tb = trial_balance_list(book=book, as_of=as_of, include_zero=True)
    rows = [[r.code, r.key, r.name, r.type, r.currency, r.debit_total, r.credit_total,
             r.debit_balance, r.credit_balance] for r in tb]
    rows += [["TOTAL", "", "", "", cur, "", "", d, c] for cur, (d, c) in
             sorted(tb.totals().items())]
    return exports.Table(f"trial-balance-{book}-{as_of}", TB_HEADER, rows,
                         money=frozenset(TB_HEADER[5:]), sheet="Trial balance")


def loan_snapshot_table(*, as_of: date, partner: Partner | None) -> exports.Table:
    snap = partner_selectors.loan_snapshot(business_date=as_of,
                                           partner_id=partner.pk if partner else None)
    return exports.Table(f"loan-snapshot-{as_of}", snap.header, snap.rows,
                         money=partner_selectors.snapshot_money_columns(snap.header),
                         sheet="Loan snapshot")


class Command(BaseCommand):
    help = "Write a trial balance or the loan snapshot as XLSX or CSV (by the output's extension)."

    def add_arguments(self, parser):
        parser.add_argument("report", choices=["trial_balance", "loan_snapshot"])
        parser.add_argument("--date", required=True, type=date.fromisoformat)
        parser.add_argument("--book", default="BANK_GL", help="trial_balance: the book code")
        parser.add_argument("--partner", help="loan_snapshot: one partner's loans (code)")
        parser.add_argument("--output", required=True, type=Path, help="PATH.xlsx or PATH.csv")

    def handle(self, *args, **opts):
        out: Path = opts["output"]
        fmt = out.suffix.lstrip(".").lower()
        if fmt not in exports.FORMATS:
            raise CommandError(f"--output must end in .{' or .'.join(exports.FORMATS)}")
        try:
            if opts["report"] == "trial_balance":
                table = trial_balance_table(book=opts["book"], as_of=opts["date"])
            else:
                partner = None
                if opts["partner"]:
                    partner = Partner.objects.filter(code=opts["partner"]).first()
                    if partner is None:
                        raise CommandError(f"no partner {opts['partner']}")
                table = loan_snapshot_table(as_of=opts["date"], partner=partner)
        except LedgerError as exc:
            raise CommandError(str(exc)) from exc
        if fmt == "xlsx":
            n = exports.xlsx_write([table], out)
        else:
            n = -1  # the header is the first piece
            with out.open("w", encoding="utf-8", newline="") as f:
                for piece in exports.csv_lines(table.header, table.rows):
                    f.write(piece)
                    n += 1
        self.stdout.write(f"{table.name}: {n} rows → {out}")
