"""Print the posting rules table (Markdown) for the finance team: docs/posting_rules.md."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from lending.settlement import posting_rules


class Command(BaseCommand):
    help = ("Print the posting rules: event x component x funder kind -> debit and credit "
            "accounts, statement lines (Markdown; docs/posting_rules.md is this output).")

    def handle(self, *args, **options) -> None:
        self.stdout.write(posting_rules.table_markdown(), ending="")
