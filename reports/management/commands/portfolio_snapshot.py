"""Store the dashboard's portfolio snapshot of each partner's latest settled day."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from reports import services


class Command(BaseCommand):
    help = ("Store the portfolio per program and DPD class of each partner's latest DONE "
            "business day where it is missing (one scan of the loans); run it after settle.")

    def handle(self, *args, **options):
        rows = services.portfolio_days_build()
        self.stdout.write(f"portfolio snapshot rows written: {rows}")
