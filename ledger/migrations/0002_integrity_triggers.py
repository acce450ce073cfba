from pathlib import Path

from django.db import migrations

# A frozen copy (the SQL this migration applied, never edited; the live file is the latest).
SQL = (Path(__file__).resolve().parent / "sql" / "0002_ledger_integrity.sql").read_text()

REVERSE = """
DROP TRIGGER IF EXISTS ledger_account_no_truncate ON ledger_account;
DROP TRIGGER IF EXISTS ledger_account_no_delete ON ledger_account;
DROP FUNCTION IF EXISTS ledger_account_guard();
DROP TRIGGER IF EXISTS ledger_period_guard ON ledger_period;
DROP TRIGGER IF EXISTS ledger_period_no_truncate ON ledger_period;
DROP TRIGGER IF EXISTS ledger_journalline_no_truncate ON ledger_journalline;
DROP TRIGGER IF EXISTS ledger_journalentry_no_truncate ON ledger_journalentry;
DROP TRIGGER IF EXISTS ledger_journalline_append_only ON ledger_journalline;
DROP TRIGGER IF EXISTS ledger_journalentry_append_only ON ledger_journalentry;
DROP TRIGGER IF EXISTS ledger_lines_after_insert ON ledger_journalline;
DROP TRIGGER IF EXISTS ledger_entry_balanced ON ledger_journalentry;
DROP TRIGGER IF EXISTS ledger_entry_before_insert ON ledger_journalentry;
DROP FUNCTION IF EXISTS ledger_period_guard();
DROP FUNCTION IF EXISTS ledger_refuse_truncate();
DROP FUNCTION IF EXISTS ledger_refuse_change();
DROP FUNCTION IF EXISTS ledger_lines_after_insert();
DROP FUNCTION IF EXISTS ledger_entry_check_balanced();
DROP FUNCTION IF EXISTS ledger_entry_before_insert();
"""


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
