"""Prove the books hold: run every registered ledger check (see ledger/checks.py)."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from ledger import checks


class Command(BaseCommand):
    help = "Exit 0 when every registered ledger check passes; list the problems and exit 1 if not."

    def add_arguments(self, parser):
        parser.add_argument("--date", type=date.fromisoformat, default=None,
                            help="check entries dated up to this business date (default: all)")

    def handle(self, *args, **opts):
        problems = checks.run_checks(as_of=opts["date"])
        names = ", ".join(checks.registered())
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(f"{len(problems)} ledger problem(s) found", returncode=1)
        self.stdout.write(f"ledger OK ({len(checks.registered())} checks: {names})")
