from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("lending", "0028_statement_lifecycle"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="loan",
            constraint=models.CheckConstraint(
                condition=models.Q(("overpaid_amount__gte", 0)),
                name="loan_overpaid_not_negative",
            ),
        ),
    ]
