from pathlib import Path

from django.db import migrations

SQL = (Path(__file__).resolve().parent.parent / "intake" / "sql" / "functions.sql").read_text()


class Migration(migrations.Migration):
    dependencies = [("lending", "0003_intake_staging")]
    operations = [
        migrations.RunSQL(SQL, "DROP FUNCTION IF EXISTS lending_intake_date(text);")
    ]
