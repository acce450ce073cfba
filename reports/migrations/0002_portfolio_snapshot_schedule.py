# Issue 22: the portfolio snapshot (reports.PortfolioDay, which the morning dashboard reads) is
# built by a periodic task, so that the dashboard of the morning after the nightly book of days
# finds the settled days' figures stored: every 15 minutes `reports.portfolio_snapshot` stores
# the days settled since (a no-op when there are none, or while another build runs). Editable in
# the admin afterwards (django-celery-beat); a schedule that exists is kept.
from django.db import migrations

NAME = "reports: portfolio snapshot of newly settled days"
TASK = "reports.portfolio_snapshot"


def _install(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    every, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    PeriodicTask.objects.create(
        name=NAME, task=TASK, interval=every,
        description="Stores each platform's portfolio by program and DPD class for its "
                    "newly settled day (the morning dashboard reads it, not the loans).")


def _remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(_install, _remove)]
