# R4 (issue 21): one borrower's outstanding principal is summed over the loans of one partner
# and borrower token, at booking (JOIN unnest(partner, token)) and in every run (a partner's
# loans GROUP BY token). Built CONCURRENTLY: the loan table is written by every run.

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("lending", "0031_quarantine_correction"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="loan",
            index=models.Index(fields=["partner", "borrower_token"],
                               name="loan_partner_borrower"),
        ),
    ]
