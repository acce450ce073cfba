# Four eyes on agreement versions (issue 21, controls.four_eyes): editors, submission,
# rejection with a reason.
import django.contrib.postgres.fields
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("lending", "0022_loan_day_engine"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="agreementversion",
            name="editor_ids",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.BigIntegerField(), blank=True, db_default=[], default=list,
                size=None),
        ),
        migrations.AddField(
            model_name="agreementversion",
            name="rejected_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="agreementversion",
            name="rejected_by",
            field=models.ForeignKey(blank=True, null=True,
                                    on_delete=django.db.models.deletion.PROTECT,
                                    related_name="+", to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name="agreementversion",
            name="rejection_reason",
            field=models.TextField(blank=True, db_default="", default=""),
        ),
        migrations.AddField(
            model_name="agreementversion",
            name="submitted_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="agreementversion",
            name="status",
            field=models.CharField(
                choices=[("DRAFT", "Draft"), ("PENDING_APPROVAL", "Pending approval"),
                         ("ACTIVE", "Active"), ("RETIRED", "Retired"), ("REJECTED", "Rejected")],
                default="DRAFT", max_length=20),
        ),
    ]
