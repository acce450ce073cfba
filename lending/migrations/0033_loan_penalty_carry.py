"""A grace end changes the penalty bases but is not a rounding point (DOMAIN §8.6): the amount ×
days run on the old bases is carried unrounded (penalty_carry, compound_carry) and rounded once
with what follows at the next crystallisation, and the derived position adds it. From the frozen
copy beside this migration."""

from decimal import Decimal
from pathlib import Path

from django.db import migrations, models

HERE = Path(__file__).resolve().parent / "sql"
POSITIONS = (HERE / "0033_positions.sql").read_text()
PREVIOUS_POSITIONS = (HERE / "0027_positions.sql").read_text()


class Migration(migrations.Migration):
    dependencies = [("lending", "0032_loan_partner_borrower")]
    operations = [
        migrations.AddField(
            model_name="loan", name="penalty_carry",
            field=models.DecimalField(db_default=Decimal("0.00"), decimal_places=2, default=Decimal("0.00"), max_digits=18)),
        migrations.AddField(
            model_name="loan", name="compound_carry",
            field=models.DecimalField(db_default=Decimal("0.00"), decimal_places=2, default=Decimal("0.00"), max_digits=18)),
        migrations.RunSQL(POSITIONS, PREVIOUS_POSITIONS),
    ]
