"""Issue 22: the portfolio snapshot the morning dashboard reads is built by a periodic task
(reports migration 0002), which names a task the workers know."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

pytestmark = pytest.mark.django_db


def test_the_snapshot_is_scheduled_every_15_minutes_by_a_task_the_workers_know():
    from django_celery_beat.models import PeriodicTask

    from config.celery import app

    migration = importlib.import_module("reports.migrations.0002_portfolio_snapshot_schedule")
    migration._install(apps, None)  # a flush by an earlier transactional test removed it
    migration._install(apps, None)  # idempotent: an existing (edited) schedule is kept
    task = PeriodicTask.objects.get(name=migration.NAME)
    assert (task.interval.every, task.interval.period) == (15, "minutes")
    app.loader.import_default_modules()
    assert task.task in app.tasks
