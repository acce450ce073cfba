"""The Celery application: `celery -A config worker` / `celery -A config beat`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("jointlend")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# The beat schedule is kept in the database (CELERY_BEAT_SCHEDULER: django-celery-beat), editable
# in the admin under "Periodic tasks" without a deploy; its default rows (the nightly book of
# days, the retry tick) come from lending/settlement/scheduler.py `schedule_install`. No
# `beat_schedule` here: the database scheduler would write it over the staff's edits at start.


@app.task(name="config.ping")
def ping(*, payload: str = "pong") -> str:
    """Round-trip check used by the worker smoke test and by operators."""
    return payload
