"""The derived accrual rounds to 8 places before the cent (lending.domain.money.accrued_part):
a part of a running accrual that is exactly half a cent was rounded down when the stored
10-place amount fell a hair below it. From the frozen copy beside this migration."""

from pathlib import Path

from django.db import migrations

HERE = Path(__file__).resolve().parent / "sql"
POSITIONS = (HERE / "0027_positions.sql").read_text()
PREVIOUS_POSITIONS = (HERE / "0022_positions.sql").read_text()


class Migration(migrations.Migration):
    dependencies = [("lending", "0026_loan_write_off_order")]
    operations = [migrations.RunSQL(POSITIONS, PREVIOUS_POSITIONS)]
