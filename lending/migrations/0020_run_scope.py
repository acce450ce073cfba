"""A statement per run and counterparty (DOMAIN.md §8.10): a guarantor that serves two
platforms gets one statement per platform and day, so one platform's run never rewrites
another's."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lending", "0019_booking_db_defaults")]
    operations = [
        migrations.RemoveConstraint(model_name="statement", name="statement_per_day"),
        migrations.AddConstraint(
            model_name="statement",
            constraint=models.UniqueConstraint(fields=("run", "counterparty"),
                                               name="statement_per_run_counterparty"),
        ),
        migrations.AddIndex(
            model_name="statement",
            index=models.Index(fields=["counterparty", "business_date"],
                               name="statement_counterparty_day"),
        ),
    ]
