from pathlib import Path

from django.db import migrations

# A frozen copy (the SQL this migration applied, never edited; the live file is the latest).
SQL = (Path(__file__).resolve().parent / "sql" / "0004_intake_functions.sql").read_text()


class Migration(migrations.Migration):
    dependencies = [("lending", "0003_intake_staging")]
    operations = [
        migrations.RunSQL(SQL, "DROP FUNCTION IF EXISTS lending_intake_date(text);")
    ]
