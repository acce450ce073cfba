"""period_close waits for open postings into the book (issue 21, finding 5): the entry trigger
takes a shared per-book advisory lock that the close takes exclusively."""

from pathlib import Path

from django.db import migrations

# Frozen copies (the SQL each migration applied, never edited; the live file is the latest).
SQL = (Path(__file__).resolve().parent / "sql" / "0005_ledger_integrity.sql").read_text()
PREVIOUS = (Path(__file__).resolve().parent / "sql" / "0002_ledger_integrity.sql").read_text()


class Migration(migrations.Migration):
    dependencies = [("ledger", "0004_db_defaults")]

    operations = [migrations.RunSQL(SQL, PREVIOUS)]
