"""Each instalment's part of the loan's penalty and compound interest (DOMAIN §8.2).

The waterfall is instalment-major: a partial payment pays an earlier instalment's principal
before a later instalment's penalty, so each instalment keeps its part of the loan's
crystallised penalty. The never-maintained `penalty_accrued` / `compound_accrued` columns become
what is unpaid of it (`penalty_paid` / `compound_paid` are now kept too), and the loan keeps its
last rounding point of penalty (`penalty_rounded_on`). A loan's penalty crystallised before this
has no instalment parts: the engine puts it on the oldest owing instalment (settle_to_shares).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("lending", "0036_loan_snapshot_day_brin"),
    ]

    operations = [
        migrations.RenameField("installment", "penalty_accrued", "penalty_unpaid"),
        migrations.RenameField("installment", "compound_accrued", "compound_unpaid"),
        migrations.AddField(
            model_name="loan", name="penalty_rounded_on",
            field=models.DateField(blank=True, null=True),
        ),
    ]
