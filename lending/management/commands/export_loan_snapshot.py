"""manage.py export_loan_snapshot --date D [--partner CODE] [--output PATH]

The bank's own end-of-day view of every loan as CSV (the `balances` file's columns plus partner,
class, accruing and each funder's principal, interest and penalty), streamed from PostgreSQL.
"""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from lending.reconciliation import selectors
from partners import selectors as partner_selectors


class Command(BaseCommand):
    help = "Write the loan snapshot of a business date as CSV (stdout by default)."

    def add_arguments(self, parser):
        parser.add_argument("--date", required=True, help="business date, YYYY-MM-DD")
        parser.add_argument("--partner", help="partner code (default: every partner)")
        parser.add_argument("--output", help="file to write (default: stdout)")

    def handle(self, *args, date: str, partner: str | None, output: str | None, **options):
        try:
            day = _parse_date(date)
        except ValueError as exc:
            raise CommandError(f"--date: {exc}") from exc
        partner_id = None
        if partner:
            found = partner_selectors.partner_get_by_code(code=partner)
            if found is None:
                raise CommandError(f"no partner with code {partner!r}")
            partner_id = found.pk
        if output:
            with open(output, "wb") as fh:
                rows = selectors.loan_snapshot_stream(business_date=day, partner_id=partner_id,
                                                      write=fh.write)
            self.stderr.write(f"{rows} loans written to {output}")
        else:
            def write(text: str) -> None:
                if text:
                    self.stdout.write(text, ending="")

            selectors.loan_snapshot_text(business_date=day, partner_id=partner_id, write=write)


def _parse_date(text: str) -> date:
    return date.fromisoformat(text)
