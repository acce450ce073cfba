"""`python manage.py settlement_schedule`: create the default periodic tasks of the settlement
(django-celery-beat; the migration does it too). An existing, edited schedule is kept."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from lending.settlement import scheduler


class Command(BaseCommand):
    help = "Create the nightly book-of-days and the retry periodic tasks unless they exist."

    def handle(self, *args, **opts):
        created = scheduler.schedule_install()
        for name in created:
            self.stdout.write(f"created periodic task: {name}")
        if not created:
            self.stdout.write("the settlement's periodic tasks exist (kept as they are)")
