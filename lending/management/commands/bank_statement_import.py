"""Import the bank statement's lines as payments of the settlement statements.

    python manage.py bank_statement_import CSV [--user USERNAME]

The CSV (UTF-8, a BOM allowed) has a header row with the columns value_date (YYYY-MM-DD),
amount (+ money in: the counterparty paid the bank; − money out: the bank paid), reference
(the statement's payment reference ST-<counterparty>-<yyyymmdd>-<id>) and bank_line_id (the
bank's id of the line: a line is imported once); other columns are ignored.

All or nothing: every bad cell or refused line is listed on stderr as
"line N, column C: why" and nothing is recorded (exit 1). A line already imported is skipped;
a line whose reference matches no statement is listed as unmatched (stderr, and in the
summary) and is tried again by the next import. Prints a JSON summary on stdout; exit 0 when
every line was applied, already imported or unmatched; 2 when the file cannot be read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from lending.settlement import statements


class Command(BaseCommand):
    help = ("Import a bank statement CSV (value_date, amount, reference, bank_line_id) as "
            "statement payments; all or nothing.")

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--user", default=None,
                            help="the staff user recorded as having imported it")

    def handle(self, *args, path: str, user: str | None, **options):
        try:
            text = Path(path).read_bytes().decode("utf-8-sig")
        except OSError as exc:
            self.stderr.write(f"cannot read {path}: {exc.strerror}")
            sys.exit(2)
        except UnicodeDecodeError as exc:
            self.stderr.write(f"{path} is not UTF-8 text: byte {exc.start}: {exc.reason}")
            sys.exit(2)
        recorded_by = None
        if user:
            recorded_by = get_user_model().objects.filter(username=user).first()
            if recorded_by is None:
                self.stderr.write(f"no user {user!r}")
                sys.exit(2)
        lines, errors = statements.bank_statement_parse(text)
        if errors:
            result = statements.BankImport(errors=errors)
        else:
            result = statements.bank_statement_import(lines=lines, recorded_by=recorded_by)
        for error in result.errors:
            self.stderr.write(f"{path}: {error}")
        for row in result.unmatched:
            self.stderr.write(f"{path}: line {row['line']}, column reference: "
                              f"{row['reference']!r} matches no statement: not recorded "
                              "(the next import tries it again)")
        summary = result.summary()
        if result.errors:
            self.stderr.write(f"{path}: nothing recorded ({len(result.errors)} error(s))")
        self.stdout.write(json.dumps(summary, ensure_ascii=False, default=str))
        if result.errors:
            sys.exit(1)
