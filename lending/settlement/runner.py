"""The daily run of one partner and business date: gate, book, apply (chunks), post, settle,
reconcile, check — orchestrated as Celery tasks (a group of chunks, then a chord callback).

One orchestration per (partner, date) at a time: the orchestrator holds a PostgreSQL session
advisory lock while it dispatches and waits. Chunks are idempotent (each commits with its done
mark), so a run that died anywhere is simply started again: done chunks are skipped, posting
is keyed, statements are rebuilt from the same movements.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from config import locks
from config.sql_literals import lit
from lending.selectors import first_business_date
from lending.settlement import dispatch, limits, positions, posting, references, steps
from lending.settlement.alongside import Alongside
from lending.settlement.errors import RunLocked, SettlementError
from lending.settlement.models import RunChunk, RunState, SettlementRun
from lending.settlement.statements import statements_issue
from partners import calendar
from partners.models import InboundFile, InboundFileStatus, Partner, PartnerKind

log = logging.getLogger(__name__)

REQUIRED_KINDS = ("loans", "repayments", "reversals", "balances")
def intake_gate(*, partner: Partner, business_date: date) -> list[str]:
    """The kinds of file for the date that are missing or not accepted (empty: go)."""
    accepted = set(
        InboundFile.objects.filter(partner=partner, business_date=business_date,
                                   status=InboundFileStatus.ACCEPTED).values_list("kind", flat=True)
    )
    return [k for k in REQUIRED_KINDS if k not in accepted]


def days_not_settled_before(*, partner: Partner, business_date: date) -> list[date]:
    """The business days from the partner's first (its earliest accepted file) up to the day
    before `business_date` whose run is not DONE, oldest first: a date settles only after
    every earlier one (FILE_FORMATS.md v1.1), so that each run starts from the books of the
    day before."""
    first = first_business_date(partner.pk)
    if first is None or first >= business_date:
        return []
    days = calendar.business_days(first, business_date - timedelta(days=1))
    done = set(SettlementRun.objects.filter(
        partner=partner, state=RunState.DONE, business_date__gte=first,
        business_date__lt=business_date).values_list("business_date", flat=True))
    return [d for d in days if d not in done]


def settling_partners() -> list[Partner]:
    """Partners that originate loans (platforms with programs)."""
    return list(Partner.objects.filter(kind=PartnerKind.PLATFORM, programs__isnull=False)
                .distinct().order_by("code"))


def _set(run: SettlementRun, **fields) -> None:
    for k, v in fields.items():
        setattr(run, k, v)
    run.save(update_fields=list(fields))


def settlement_run(
    *, partner: Partner, business_date: date, progress: Callable[[str], None] | None = None,
    timeout: float = 3600,
) -> SettlementRun:
    """Run (or resume) the settlement of one partner's business date and wait for it."""
    say = progress or (lambda _msg: None)
    if not calendar.is_business_day(business_date):
        raise SettlementError(f"{business_date} is not a business day of the bank's calendar")
    with locks.session(locks.SETTLEMENT_RUN, partner.pk, business_date, wait=False) as got:
        if not got:
            raise RunLocked(f"a settlement of {partner.code} {business_date} is already running")
        return _run_locked(partner, business_date, say, timeout)


def _run_locked(partner: Partner, business_date: date, say: Callable[[str], None],
                timeout: float) -> SettlementRun:
    """settlement_run's body, under the run's lock."""
    run, _ = SettlementRun.objects.get_or_create(partner=partner, business_date=business_date)
    missing = intake_gate(partner=partner, business_date=business_date)
    if missing:
        _set(run, state=RunState.WAITING, step="GATE",
             error=f"waiting for accepted files: {', '.join(missing)}")
        say(f"{partner.code} {business_date}: waiting for {', '.join(missing)}")
        return run
    unsettled = days_not_settled_before(partner=partner, business_date=business_date)
    if unsettled:
        _set(run, state=RunState.WAITING, step="GATE",
             error=f"business day {unsettled[0]} is not settled"
                   + (f" (nor {len(unsettled) - 1} more before {business_date})"
                      if len(unsettled) > 1 else ""))
        say(f"{partner.code} {business_date}: waiting for the run of {unsettled[0]}")
        return run
    _set(run, state=RunState.RUNNING, step="BOOK", attempts=run.attempts + 1, error="",
         started_at=timezone.now(), finished_at=None)
    started = time.monotonic()
    timings: dict[str, float] = {}
    try:
        references.references_check(partner_id=partner.pk, business_date=business_date)
        steps.plan_book(run)
        t0 = time.monotonic()
        queue = settings.SETTLEMENT_QUEUE
        pending = list(RunChunk.objects.filter(run=run, step="BOOK", done_at__isnull=True)
                       .order_by("seq").values_list("seq", flat=True))
        if pending:
            dispatch.run_chunks(dispatch.task("lending.settlement_book"), run, "BOOK", pending,
                                timeout, say)
        timings["book"] = time.monotonic() - t0
        _set(run, step="APPLY")
        total = steps.plan_apply(run)
        pending = list(RunChunk.objects.filter(run=run, step="APPLY", done_at__isnull=True)
                       .order_by("seq").values_list("seq", flat=True))
        say(f"{partner.code} {business_date}: {total} chunks, {len(pending)} to do")
        t0 = time.monotonic()
        timings["apply_started_at"] = time.time()  # wall clock: the callback may run elsewhere
        callback = dispatch.task("lending.settlement_finalize").si(run_id=run.pk, timings=timings).set(
            queue=queue)
        result = dispatch.dispatch_apply(run, pending, callback)
        dispatch.wait_apply(result, run, total, timeout, say, callback=callback)
    except Exception as exc:
        _set(run, state=RunState.FAILED, error=f"{type(exc).__name__}: {exc}",
             finished_at=timezone.now())
        raise SettlementError(f"{partner.code} {business_date} failed: {exc}") from exc
    run.refresh_from_db()
    say(f"{partner.code} {business_date}: {run.state} in {time.monotonic() - started:.1f}s")
    return run


def settlement_finalize(*, run_id: int, timings: dict | None = None) -> dict:
    """Chord callback: leftovers, post, settle, reconcile, check, fingerprint; marks DONE."""
    from ledger import checks

    run = SettlementRun.objects.select_related("partner").get(pk=run_id)
    timings = dict(timings or {})
    if "apply_started_at" in timings:
        timings["apply"] = time.time() - timings.pop("apply_started_at")
    t0 = lap = time.monotonic()

    def clock(step: str) -> None:
        nonlocal lap
        now = time.monotonic()
        timings[step] = now - lap
        lap = now

    _set(run, step="POST")
    quarantined = steps.quarantine_leftovers(run_id=run_id)
    # The chunks are done: loan state no longer changes in this run. The reconciliation reads
    # only loan positions and the partner's balances (not the postings), so it runs alongside
    # the positions, posting and statements, on a connection of its own.
    reconciliation = Alongside(_reconcile, run)
    # Every loan's position as of the date, evaluated once for posting and the sub-ledger = GL
    # check.
    with positions.positions_snapshot(partner_id=run.partner_id,
                                      business_date=run.business_date):
        clock("positions")
        with transaction.atomic():
            posted = posting.post_run(run)
            clock("post")
            _set(run, step="SETTLE")
            statements = posting.statements_build(run)
            clock("settle")
        _set(run, step="RECONCILE")
        breaks = reconciliation.result()
        clock("reconcile")  # what the reconciliation added after the statements
        timings["reconcile_alongside"] = reconciliation.seconds
        _set(run, step="CHECK")
        problems = checks.run_checks(as_of=run.business_date, partner_id=run.partner_id)
        clock("check")
    totals = _control_totals(run)
    totals["limits"] = limits.limit_breaches_alert(run)  # R1 breaches of the day: an alert
    fp = posting.fingerprint(run.business_date, run.partner.code)
    clock("fingerprint")
    timings["finalize"] = time.monotonic() - t0
    totals.update(posted=posted, quarantined_at_apply=quarantined, breaks=breaks,
                  statements={s.counterparty.code: str(s.net_amount) for s in statements},
                  check_problems=problems[:50], timings=timings)
    state = RunState.DONE if not problems else RunState.FAILED
    _set(run, state=state, step="", totals=totals, fingerprint=fp, finished_at=timezone.now(),
         error="" if not problems else "checks failed: " + "; ".join(problems[:5]))
    if state == RunState.DONE:  # its statements are issued: due date, payment reference
        statements_issue(run_id=run.pk)
    return {"run": run_id, "state": state, "fingerprint": fp}


def _reconcile(run: SettlementRun) -> dict:
    from lending.reconciliation.services import breaks_reconcile

    r = breaks_reconcile(partner_id=run.partner_id, business_date=run.business_date)
    return {"their_rows": r.their_rows, "our_loans": r.our_loans, "by_kind": r.by_kind,
            "within_tolerance": r.within_tolerance, "opened": r.opened,
            "seen_again": r.seen_again, "auto_cleared": r.auto_cleared}


def _control_totals(run: SettlementRun) -> dict:
    with connection.cursor() as cur:
        cur.execute(
            f"""SELECT event, component, SUM(amount) FILTER (WHERE funder_id = b.id),
                      SUM(amount) FILTER (WHERE funder_id <> b.id), COUNT(*)
                 FROM lending_movement m, (SELECT id FROM partners_partner
                                            WHERE kind = {lit(PartnerKind.BANK)}) b
                WHERE m.business_date = %s AND m.run_id = %s
                GROUP BY 1, 2 ORDER BY 1, 2""", [run.business_date, run.pk])
        movements = {f"{e}/{c}": {"bank": str(bk or 0), "partners": str(pt or 0), "rows": n}
                     for e, c, bk, pt, n in cur.fetchall()}
        cur.execute(
            """SELECT 'loans', status, count(*) FROM lending_stagedloan
                WHERE partner_id = %(p)s AND business_date = %(d)s GROUP BY 2
               UNION ALL SELECT 'repayments', status, count(*) FROM lending_stagedrepayment
                WHERE partner_id = %(p)s AND business_date = %(d)s GROUP BY 2
               UNION ALL SELECT 'reversals', status, count(*) FROM lending_stagedreversal
                WHERE partner_id = %(p)s AND business_date = %(d)s GROUP BY 2""",
            {"p": run.partner_id, "d": run.business_date})
        rows: dict[str, dict[str, int]] = {}
        for kind, status, n in cur.fetchall():
            rows.setdefault(kind, {})[status] = n
    return {"movements": movements, "rows": rows}


def settlement_run_rerun(*, run: SettlementRun):
    """Admin action: settle the run's partner and date again (skips what is done) — sent to
    the workers as a task; returns its result handle at once (the run page shows progress)."""
    # refused at once while an orchestrator holds the run
    if not locks.is_free(locks.SETTLEMENT_RUN, run.partner_id, run.business_date):
        raise RunLocked(f"a settlement of {run.partner.code} {run.business_date} is "
                        "already running: its progress is on the run page")
    return dispatch.task("lending.settlement_rerun").si(run_id=run.pk).set(
        queue=settings.SETTLEMENT_QUEUE).apply_async()
