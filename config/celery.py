"""The Celery application: `celery -A config worker` / `celery -A config beat`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("jointlend")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _daily_at() -> tuple[str, str]:
    from django.conf import settings

    hour, minute = (settings.SETTLEMENT_DAILY_AT or "02:30").split(":")
    return hour, minute


def _beat_schedule() -> dict:
    from celery.schedules import crontab

    hour, minute = _daily_at()
    return {
        # Settle yesterday for every platform, at SETTLEMENT_DAILY_AT local time.
        "settle-yesterday": {"task": "lending.settle_day", "schedule": crontab(hour=hour,
                                                                                minute=minute)},
    }


@app.on_after_finalize.connect
def _setup_beat(sender, **kwargs):
    sender.conf.beat_schedule = _beat_schedule()


@app.task(name="config.ping")
def ping(*, payload: str = "pong") -> str:
    """Round-trip check used by the worker smoke test and by operators."""
    return payload
