"""The loan-day engine in the domain (issue 20): the SQL functions rendered from
lending.domain (lending_year_days, lending_loan_closed) and the position functions rebuilt on
them. Both from frozen copies beside this migration (lending/migrations/sql/0022_*.sql), never
from the live lending/sql files; tests/unit/settlement/test_domain_sql.py checks the copies."""

from pathlib import Path

from django.db import migrations

HERE = Path(__file__).resolve().parent / "sql"
DOMAIN_FUNCTIONS = (HERE / "0022_domain_functions.sql").read_text()
POSITIONS = (HERE / "0022_positions.sql").read_text()
PREVIOUS_POSITIONS = (HERE / "0010_positions.sql").read_text()


class Migration(migrations.Migration):
    dependencies = [("lending", "0021_run_reliability")]
    operations = [
        migrations.RunSQL(DOMAIN_FUNCTIONS, "DROP FUNCTION IF EXISTS lending_year_days(varchar);"
                                            " DROP FUNCTION IF EXISTS lending_loan_closed(varchar);"),
        migrations.RunSQL(POSITIONS, PREVIOUS_POSITIONS),
    ]
