from pathlib import Path

from django.db import migrations

SQL = (Path(__file__).resolve().parent.parent / "sql" / "positions.sql").read_text()


class Migration(migrations.Migration):
    dependencies = [("lending", "0005_settlement")]
    operations = [
        migrations.RunSQL(SQL, "DROP FUNCTION IF EXISTS lending_share_positions(date, bigint,"
                               " bigint, bigint);"),
    ]
