"""`python manage.py bench_settlement --loans N`: the standard settlement day, timed (issue 6).

Builds (or reuses) a scratch portfolio of N loans (lending.settlement.bench), then settles the
next business day — files through the real intake, `runner.settlement_run` — and prints the
wall time per step, rows per second, peak memory, the journal lines posted, and the per-event
yardstick (lending.settlement.baseline) on a sample, with the throughput ratio.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Command(BaseCommand):
    help = "Build/reuse a portfolio of N loans and time one standard settlement day."

    def add_arguments(self, parser):
        parser.add_argument("--loans", type=int, default=1_000_000)
        parser.add_argument("--fresh", action="store_true", help="rebuild the portfolio")
        parser.add_argument("--sample", type=int, default=2000,
                            help="repayments applied by the per-event baseline")
        parser.add_argument("--build-only", action="store_true")
        parser.add_argument("--seed", type=int, default=6)
        parser.add_argument("--workers", type=int, default=0,
                            help="start N real `celery worker` processes for the day (needs "
                                 "CELERY_BROKER_URL); 0: whatever the settings give")

    def handle(self, *args, **opts):
        from lending.settlement import bench

        n = opts["loans"]
        say = self.stdout.write
        if opts["build_only"]:
            bench.portfolio_wipe(say=say) if opts["fresh"] else None
            out = bench.portfolio_build(n, seed=opts["seed"], say=say)
            say(f"portfolio built: {out['loans']:,} loans, booking {out['book_s']:.1f}s, "
                f"with warm-up days {out['total_s']:.1f}s")
            return
        marker = bench.portfolio_marker()
        if opts["fresh"] or marker != n:
            if marker is not None:
                say(f"portfolio exists for N={marker}; rebuilding for N={n}")
            # The build runs in its own process so that its memory is not this one's peak.
            t0 = time.monotonic()
            cmd = [sys.executable, "manage.py", "bench_settlement", "--build-only",
                   "--loans", str(n), "--seed", str(opts["seed"]), "--fresh"]
            if subprocess.run(cmd, cwd=settings.BASE_DIR, check=False).returncode:
                raise CommandError("portfolio build failed")
            say(f"portfolio build: {time.monotonic() - t0:.1f}s (not part of the timed day)")
        else:
            say(f"reusing the portfolio for N={n:,} ({bench.portfolio_size():,} loans now)")
        self._day(n, opts)

    def _day(self, n: int, opts) -> None:
        from lending.settlement import baseline, bench, runner
        from partners.models import Partner, PartnerKind

        say = self.stdout.write
        day = bench.next_day()
        t0 = time.monotonic()
        files = bench.day_files(n, day, sample=opts["sample"])
        say(f"standard day {day}: files written in {time.monotonic() - t0:.1f}s "
            f"(not timed): {files.rows}; repayment mix {files.mix}")
        platform = Partner.objects.get(code=bench.platform_code())
        bank = Partner.objects.get(kind=PartnerKind.BANK)
        # The yardstick first, on the books as they stand before the day, rolled back.
        base = baseline.baseline_run(partner_code=platform.code, partner_id=platform.pk,
                                     bank_id=bank.pk, day=day, repayments=files.sample)
        rss_before = _maxrss_mb()

        eager = getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False)
        mode = ("Celery workers via " + settings.CELERY_BROKER_URL.split("://")[0]
                if not eager else "eager: chunks in-process one after another")
        workers = None
        if opts["workers"]:
            if eager:
                raise CommandError("--workers needs a broker: set CELERY_BROKER_URL "
                                   "(e.g. redis://127.0.0.1:6379/0)")
            from lending.settlement.workers import WorkerProcesses

            workers = WorkerProcesses(settings.SETTLEMENT_QUEUE, name="bench")
            workers.start(opts["workers"])
            if not workers.wait_ready():  # not timed: the workers are up before the day
                workers.stop()
                raise CommandError(f"{opts['workers']} workers did not come up within 60 s")
            say(f"  {opts['workers']} workers up")
            mode += f", {opts['workers']} worker processes (pool solo)"
        try:
            started = time.monotonic()
            t = time.monotonic()
            bench.deliver(files)
            intake_s = time.monotonic() - t
            run = runner.settlement_run(partner=platform, business_date=day)
            total_s = time.monotonic() - started
        finally:
            if workers is not None:
                workers.stop()
        if run.state != "DONE":
            raise CommandError(f"run {run.state}: {run.error}")
        tm = run.totals.get("timings", {})
        steps_s = {"intake": intake_s, "book": tm.get("book", 0), "apply": tm.get("apply", 0),
                   "positions": tm.get("positions", 0), "post": tm.get("post", 0), "settle": tm.get("settle", 0),
                   "reconcile": tm.get("reconcile", 0), "check": tm.get("check", 0),
                   "fingerprint": tm.get("fingerprint", 0)}
        other = total_s - sum(steps_s.values())
        with connection.cursor() as cur:
            cur.execute("""SELECT count(*) FROM ledger_journalline l
                             JOIN ledger_journalentry e ON e.id = l.entry_id
                            WHERE e.source_run = %s""", [f"settle:{day:%Y-%m-%d}:{platform.code}"])
            lines = cur.fetchone()[0]
            cur.execute("SELECT count(*), sum(rows) FROM lending_runchunk WHERE run_id = %s"
                        " AND step = 'APPLY'", [run.pk])
            chunks, touched = cur.fetchone()
        rows = sum(files.rows.values())
        events = files.rows["repayments"] + files.rows["reversals"]
        batch_eps = events / total_s
        say("")
        say(f"== bench_settlement: {bench.portfolio_size():,} loans, day {day}, {mode}")
        for step, secs in steps_s.items():
            say(f"  {step:<12} {secs:8.2f} s")
        say(f"  {'(other)':<12} {other:8.2f} s")
        say(f"  {'TOTAL':<12} {total_s:8.2f} s   (target <= 30 s)")
        say(f"  file rows {rows:,} ({files.rows}) -> {rows / total_s:,.0f} rows/s;"
            f" events {events:,} -> {batch_eps:,.0f} events/s")
        say(f"  apply chunks {chunks}, touched loans {touched or 0:,}")
        say(f"  journal lines posted for the day: {lines}; posted {run.totals.get('posted')}")
        say(f"  breaks {run.totals.get('breaks', {}).get('by_kind')}")
        if workers is not None:
            say("  peak memory of the worker processes: "
                + ", ".join(f"{mb:,.0f} MB" for mb in workers.peaks))
        say(f"  peak memory (maxrss of this process): {_maxrss_mb():,.0f} MB "
            f"(before the day: {rss_before:,.0f} MB; embedded PostgreSQL's backend not included;"
            f" with real Celery workers the figure is per process)")
        say(f"  per-event baseline: {base.events:,} repayments in {base.seconds:.2f} s = "
            f"{base.per_second:,.0f} events/s (ORM, one transaction and entry each, rolled back)")
        ratio = batch_eps / base.per_second if base.per_second else float("inf")
        say(f"  throughput ratio batch / per-event: {ratio:,.0f}x (target >= 100x)")
        say(f"  fingerprint {run.fingerprint}")

