from pathlib import Path

from django.db import migrations

# A frozen copy (the SQL this migration applied, never edited; the live file is the latest).
SQL = (Path(__file__).resolve().parent / "sql" / "0002_agreement_integrity.sql").read_text()

REVERSE = """
DROP TRIGGER IF EXISTS agreement_funders_frozen ON lending_agreementfunder;
DROP TRIGGER IF EXISTS agreement_version_frozen ON lending_agreementversion;
DROP TRIGGER IF EXISTS agreement_funder_ratios_sum_to_one ON lending_agreementfunder;
DROP FUNCTION IF EXISTS lending_freeze_active_funders();
DROP FUNCTION IF EXISTS lending_freeze_active_version();
DROP FUNCTION IF EXISTS lending_check_version_ratios();
"""


class Migration(migrations.Migration):
    dependencies = [("lending", "0001_initial")]
    operations = [migrations.RunSQL(SQL, REVERSE)]
