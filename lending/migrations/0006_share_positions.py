from pathlib import Path

from django.db import migrations

# A frozen copy of lending/sql/positions.sql as it stood then (later versions: 0022).
SQL = (Path(__file__).resolve().parent / "sql" / "0010_positions.sql").read_text()


class Migration(migrations.Migration):
    dependencies = [("lending", "0005_settlement")]
    operations = [
        migrations.RunSQL(SQL, "DROP FUNCTION IF EXISTS lending_share_positions(date, bigint,"
                               " bigint, bigint);"),
    ]
