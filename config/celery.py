"""The Celery application: `celery -A config worker` / `celery -A config beat`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("jointlend")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="config.ping")
def ping(*, payload: str = "pong") -> str:
    """Round-trip check used by the worker smoke test and by operators."""
    return payload
