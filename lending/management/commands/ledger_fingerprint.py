"""`python manage.py ledger_fingerprint --date D [--partner CODE]`: digest of the day's postings."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand

from lending.settlement.posting import fingerprint


class Command(BaseCommand):
    help = "SHA-256 of everything the settlement posted for a date, in a canonical order."

    def add_arguments(self, parser):
        parser.add_argument("--date", required=True, type=date.fromisoformat)
        parser.add_argument("--partner")

    def handle(self, *args, **opts):
        self.stdout.write(fingerprint(opts["date"], opts["partner"]))
