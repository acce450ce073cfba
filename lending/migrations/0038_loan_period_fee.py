"""The fixed-yield fee booked on the running period's crystallised pieces (lending_loan.period_fee).

A loan rebuilt without a reversed PREPAYMENT / PAYOFF crystallises its running period anew in
one piece (DOMAIN §8.3, §8.6); a BANK_FIXED_YIELD loan's fee booked on the pieces taken back goes
back with them. Loans booked before this keep NULL (not known) until their next billing starts a
period; new loans start at 0.
"""

from decimal import Decimal

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("lending", "0037_installment_penalty_parts"),
    ]

    operations = [
        # existing loans: NULL (the fee of their running period's pieces is not known) …
        migrations.AddField(
            model_name="loan", name="period_fee",
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=18, null=True),
        ),
        # … new ones start at 0
        migrations.AlterField(
            model_name="loan", name="period_fee",
            field=models.DecimalField(blank=True, decimal_places=2, db_default=Decimal("0.00"),
                                      max_digits=18, null=True),
        ),
    ]
