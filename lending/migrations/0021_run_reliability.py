# Workers may die; the scheduler runs the book of days (issue 19 items 3 and 6): a chunk's
# dispatch record (re-dispatch of a stalled chunk), alerts, and the default periodic tasks of
# django-celery-beat (editable in the admin afterwards).
import django.db.models.deletion
from django.db import migrations, models


def _schedule_install(apps, schema_editor):
    from lending.settlement.scheduler import schedule_install

    schedule_install(PeriodicTask=apps.get_model("django_celery_beat", "PeriodicTask"),
                     CrontabSchedule=apps.get_model("django_celery_beat", "CrontabSchedule"),
                     IntervalSchedule=apps.get_model("django_celery_beat", "IntervalSchedule"))


class Migration(migrations.Migration):
    dependencies = [
        ("lending", "0020_run_scope"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AddField(
            model_name="runchunk",
            name="dispatched_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="runchunk",
            name="dispatches",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.CreateModel(
            name="Alert",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("key", models.CharField(
                    help_text="reason:partner:date — the same alert is never raised twice.",
                    max_length=120, unique=True)),
                ("reason", models.CharField(
                    choices=[("FILES_MISSING", "Files still missing after the cut-off"),
                             ("RUN_FAILED", "Settlement run failed")], max_length=16)),
                ("business_date", models.DateField()),
                ("message", models.TextField()),
                ("raised_at", models.DateTimeField(auto_now_add=True)),
                ("acknowledged_at", models.DateTimeField(blank=True, null=True)),
                ("partner", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT,
                                              related_name="alerts", to="partners.partner")),
                ("run", models.ForeignKey(blank=True, null=True,
                                          on_delete=django.db.models.deletion.SET_NULL,
                                          related_name="alerts", to="lending.settlementrun")),
            ],
            options={"ordering": ["-raised_at"]},
        ),
        migrations.RunPython(_schedule_install, migrations.RunPython.noop),
    ]
