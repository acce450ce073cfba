"""Celery interface of the reports app: one service call each."""

from __future__ import annotations

from celery import shared_task

from reports import services


@shared_task(name="reports.portfolio_snapshot")
def portfolio_snapshot() -> int:
    """The portfolio snapshot of each partner's newly settled day (schedule it after the
    nightly book of days; the dashboard also queues it when a settled day has none)."""
    return services.portfolio_days_build()
