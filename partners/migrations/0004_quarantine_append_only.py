from pathlib import Path

from django.db import migrations

# A frozen copy (the SQL this migration applied, never edited; the live file is the latest).
SQL = (Path(__file__).resolve().parent / "sql" / "0004_quarantine_append_only.sql").read_text()

REVERSE = """
DROP TRIGGER IF EXISTS quarantine_append_only ON partners_quarantinedrow;
DROP FUNCTION IF EXISTS partners_quarantine_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("partners", "0003_inbound_files")]
    operations = [migrations.RunSQL(SQL, REVERSE)]
