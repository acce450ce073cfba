"""The scheduler's book of days: what beat runs every night and every few minutes.

- `book_of_days` (nightly, SETTLEMENT_DAILY_AT): for every platform, every business day
  (partners.calendar) from the partner's first business date up to yesterday that is not DONE,
  oldest first; a partner stops at its first day that cannot go (WAITING or FAILED), the other
  partners go on. A missed night is simply caught up by the next one.
- `retry_tick` (every SETTLEMENT_RETRY_MINUTES): a partner whose first open day is WAITING is
  tried again until that day's cut-off (SETTLEMENT_CUTOFF_AT on the calendar day after it: the
  day's files are settled the night after it).
- after a day's cut-off, a partner whose files for it are still missing, and a FAILED run, raise
  an `Alert`: a mail to ADMINS (`mail_admins`), an ERROR log record and a banner on the run list.
  An alert is raised once per (reason, partner, date).

The periodic tasks themselves are rows of django-celery-beat (editable in the admin); the
defaults are created by the migration lending.0021 and by `manage.py settlement_schedule`.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import mail_admins
from django.db import IntegrityError, transaction
from django.utils import timezone

from config import locks
from lending.settlement.models import Alert, AlertReason, RunState, SettlementRun
from lending.settlement.steps.replay import snapshots_purge
from partners.models import Partner

log = logging.getLogger(__name__)


NIGHTLY_TASK = "lending.settle_book_of_days"
RETRY_TASK = "lending.settle_retry_tick"
NIGHTLY_NAME = "settlement: book of days (nightly)"
RETRY_NAME = "settlement: retry WAITING runs, alerts after the cut-off"
OVERDUE_TASK = "lending.statements_overdue"
OVERDUE_NAME = "settlement: statements unpaid after their due date (daily alerts)"


def _hhmm(value: str, name: str) -> time:
    try:
        hour, minute = value.split(":")
        return time(int(hour), int(minute))
    except ValueError as exc:
        raise ValueError(f"{name}={value!r} is not a time HH:MM") from exc


def cutoff_of(day: date) -> datetime:
    """When waiting for `day`'s files ends: the cut-off time on the next calendar day."""
    at = _hhmm(settings.SETTLEMENT_CUTOFF_AT, "SETTLEMENT_CUTOFF_AT")
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), at))


def open_days(partner: Partner, up_to: date) -> list[date]:
    """The partner's business days from its first up to `up_to` that are not DONE, oldest
    first (empty before its first file)."""
    from lending.selectors import first_business_date
    from partners.calendar import business_days

    first = first_business_date(partner.pk)
    if first is None or first > up_to:
        return []
    done = set(SettlementRun.objects.filter(partner=partner, state=RunState.DONE,
                                            business_date__gte=first, business_date__lte=up_to)
               .values_list("business_date", flat=True))
    return [d for d in business_days(first, up_to) if d not in done]


@contextmanager
def _partner_lock(partner: Partner):
    """Try-lock: a partner whose days another scheduler pass is settling is left to it."""
    with locks.session(locks.SETTLEMENT_SCHEDULER, partner.pk, wait=False) as got:
        yield got


def settle_partner(partner: Partner, days: list[date], progress=None) -> dict:
    """Settle `days` in order; stop at the first that does not end DONE."""
    from lending.settlement import runner

    settled: list[str] = []
    for day in days:
        try:
            run = runner.settlement_run(partner=partner, business_date=day, progress=progress)
        except runner.RunLocked as exc:  # another orchestrator (a rerun) is settling it
            return {"settled": settled, "stopped_at": str(day), "state": "LOCKED",
                    "error": str(exc)}
        except runner.SettlementError as exc:
            return {"settled": settled, "stopped_at": str(day), "state": "FAILED",
                    "error": str(exc)}
        if run.state != RunState.DONE:
            return {"settled": settled, "stopped_at": str(day), "state": run.state,
                    "error": run.error}
        settled.append(str(day))
    return {"settled": settled}


def _yesterday(now: datetime) -> date:
    return timezone.localdate(now) - timedelta(days=1)


def book_of_days(*, up_to: date | None = None, now: datetime | None = None,
                 progress=None) -> dict:
    """Nightly: every platform's open business days up to `up_to` (default yesterday), oldest
    first; then the alerts whose cut-off has passed; then the loan snapshots older than
    LOAN_SNAPSHOT_DAYS before `up_to` are deleted (replay.snapshots_purge)."""
    from lending.settlement import runner

    now = now or timezone.now()
    up_to = up_to or _yesterday(now)
    out: dict[str, Any] = {}  # partner code → what settling it did; "alerts" → their keys
    for partner in runner.settling_partners():
        with _partner_lock(partner) as got:
            if not got:
                out[partner.code] = {"skipped": "another scheduler pass is settling it"}
                continue
            out[partner.code] = settle_partner(partner, open_days(partner, up_to), progress)
    out["alerts"] = raise_alerts(now=now)
    out["snapshots_purged"] = snapshots_purge(
        before=up_to - timedelta(days=settings.LOAN_SNAPSHOT_DAYS))
    return out


def retry_tick(*, now: datetime | None = None, progress=None) -> dict:
    """A partner whose first open day is WAITING (or not tried yet) is settled again — that day
    and the ones after it — until the day's cut-off; then the alerts."""
    from lending.settlement import runner

    now = now or timezone.now()
    out: dict[str, Any] = {}  # partner code → what settling it did; "alerts" → their keys
    for partner in runner.settling_partners():
        days = open_days(partner, _yesterday(now))
        if not days or now >= cutoff_of(days[0]):
            continue
        state = (SettlementRun.objects.filter(partner=partner, business_date=days[0])
                 .values_list("state", flat=True).first())
        if state not in (None, RunState.PENDING, RunState.WAITING):
            continue  # FAILED waits for staff (and alerts); RUNNING is being settled
        with _partner_lock(partner) as got:
            if got:
                out[partner.code] = settle_partner(partner, days, progress)
    out["alerts"] = raise_alerts(now=now)
    return out


def raise_alerts(*, now: datetime | None = None, up_to: date | None = None) -> list[str]:
    """Alerts for days past their cut-off: each platform's first open day (up to `up_to`,
    default yesterday) whose files are still missing, and every FAILED run. Returns the keys
    raised now (not those raised before)."""
    from lending.settlement import runner

    now = now or timezone.now()
    up_to = up_to or _yesterday(now)
    raised = []
    for run in (SettlementRun.objects.filter(state=RunState.FAILED).select_related("partner")
                .order_by("business_date", "partner__code")):
        if now >= cutoff_of(run.business_date):
            key = alert(AlertReason.RUN_FAILED, run.partner, run.business_date, run=run,
                        message=f"the settlement of {run.partner.code} {run.business_date} "
                                f"failed: {run.error or '(no message)'}")
            raised += [key] if key else []
    for partner in runner.settling_partners():
        days = open_days(partner, up_to)
        if not days or now < cutoff_of(days[0]):
            continue
        missing = runner.intake_gate(partner=partner, business_date=days[0])
        if missing:
            day_run = SettlementRun.objects.filter(partner=partner,
                                                   business_date=days[0]).first()
            key = alert(AlertReason.FILES_MISSING, partner, days[0], run=day_run,
                        message=f"{partner.code} {days[0]}: files still missing after the "
                                f"cut-off ({cutoff_of(days[0]):%Y-%m-%d %H:%M}): "
                                f"{', '.join(missing)}; the days after it wait")
            raised += [key] if key else []
    return raised


def alert(reason: str, partner: Partner, day: date, *, run: SettlementRun | None,
          message: str, key_suffix: str = "") -> str | None:
    """Raise one alert (mail to ADMINS, ERROR log, banner) unless it was raised before; returns
    its key when raised now. `key_suffix` tells apart alerts of one reason, partner and day
    (the regulatory limits: one per limit and level)."""
    key = f"{reason}:{partner.code}:{day.isoformat()}" + (f":{key_suffix}" if key_suffix else "")
    try:
        with transaction.atomic():
            Alert.objects.create(key=key, reason=reason, partner=partner, business_date=day,
                                 run=run, message=message)
    except IntegrityError:
        return None  # raised before: never twice
    log.error("settlement alert %s: %s", key, message)
    try:
        mail_admins(f"settlement alert: {AlertReason(reason).label} — {partner.code} {day}",
                    message)
    except Exception:  # noqa: BLE001 - the alert stands (log, banner) even if mail is down
        log.exception("settlement alert %s: the mail to ADMINS could not be sent", key)
    return key


def schedule_install(*, PeriodicTask: Any = None, CrontabSchedule: Any = None,
                     IntervalSchedule: Any = None) -> list[str]:
    """Create the default periodic tasks (the nightly book of days, the retry tick, the daily
    overdue statements) unless they exist; an edited schedule is kept. Model classes may be a
    migration's historical ones."""
    if PeriodicTask is None:
        from django_celery_beat import models as beat

        PeriodicTask, CrontabSchedule, IntervalSchedule = (
            beat.PeriodicTask, beat.CrontabSchedule, beat.IntervalSchedule)
    created = []
    if not PeriodicTask.objects.filter(name=NIGHTLY_NAME).exists():
        at = _hhmm(settings.SETTLEMENT_DAILY_AT, "SETTLEMENT_DAILY_AT")
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=str(at.minute), hour=str(at.hour), day_of_week="*", day_of_month="*",
            month_of_year="*", timezone=settings.TIME_ZONE)
        PeriodicTask.objects.create(name=NIGHTLY_NAME, task=NIGHTLY_TASK, crontab=crontab,
                                    description="Every platform, every business day up to "
                                                "yesterday that is not DONE, oldest first.")
        created.append(NIGHTLY_NAME)
    if not PeriodicTask.objects.filter(name=RETRY_NAME).exists():
        every, _ = IntervalSchedule.objects.get_or_create(
            every=settings.SETTLEMENT_RETRY_MINUTES, period="minutes")
        PeriodicTask.objects.create(name=RETRY_NAME, task=RETRY_TASK, interval=every,
                                    description="WAITING runs tried again until the cut-off "
                                                "(SETTLEMENT_CUTOFF_AT); then alerts.")
        created.append(RETRY_NAME)
    if not PeriodicTask.objects.filter(name=OVERDUE_NAME).exists():
        at = _hhmm(settings.SETTLEMENT_DAILY_AT, "SETTLEMENT_DAILY_AT")
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=str(at.minute), hour=str(at.hour), day_of_week="*", day_of_month="*",
            month_of_year="*", timezone=settings.TIME_ZONE)
        PeriodicTask.objects.create(name=OVERDUE_NAME, task=OVERDUE_TASK, crontab=crontab,
                                    description="Statements of DONE runs issued; an issued "
                                                "statement unpaid after its due date raises "
                                                "one alert (lending.settlement.statements).")
        created.append(OVERDUE_NAME)
    return created
