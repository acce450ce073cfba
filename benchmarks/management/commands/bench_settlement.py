"""`python manage.py bench_settlement --loans N`: the standard settlement day, timed (issue 6).

Builds (or reuses) a scratch portfolio of N loans (benchmarks.settlement), then settles the
next business day — files through the real intake, `runner.settlement_run` — and prints the
wall time per step, rows per second, peak memory, the journal lines posted, and the per-event
yardstick (benchmarks.yardstick): a sample of each kind of the day's events done the
per-event way, projected to the day's counts and compared with the batch day (like-for-like),
and the old repayment-only throughput figure.
"""

from __future__ import annotations

import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection


class Command(BaseCommand):
    help = "Build/reuse a portfolio of N loans and time one standard settlement day."

    def add_arguments(self, parser):
        parser.add_argument("--loans", type=int, default=1_000_000)
        parser.add_argument("--fresh", action="store_true", help="rebuild the portfolio")
        parser.add_argument("--database-name", default=None,
                            help="the benchmark database, by name: a rebuild wipes the kept "
                                 "portfolio only when this (or $BENCH_DATABASE) is the name of "
                                 "the connected database")
        parser.add_argument("--sample", type=int, default=2000,
                            help="events of each kind timed by the per-event baseline")
        parser.add_argument("--build-only", action="store_true")
        parser.add_argument("--seed", type=int, default=6)
        parser.add_argument("--workers", type=int, default=0,
                            help="start N real `celery worker` processes for the day (needs "
                                 "CELERY_BROKER_URL); 0: whatever the settings give")

    def handle(self, *args, **opts):
        from benchmarks.database import WipeRefused, bench_database_confirm
        from benchmarks.settlement import portfolio

        n = opts["loans"]
        say = self.stdout.write
        if opts["build_only"]:
            if opts["fresh"] and portfolio.portfolio_exists():
                try:
                    portfolio.portfolio_wipe(database_name=opts["database_name"], say=say)
                except WipeRefused as exc:
                    raise CommandError(str(exc)) from exc
            out = portfolio.portfolio_build(n, seed=opts["seed"], say=say)
            say(f"portfolio built: {out['loans']:,} loans, booking {out['book_s']:.1f}s, "
                f"with warm-up days {out['total_s']:.1f}s")
            return
        marker = portfolio.portfolio_marker()
        if opts["fresh"] or marker != n:
            if marker is not None:
                say(f"portfolio exists for N={marker}; rebuilding for N={n}")
            database = None
            if portfolio.portfolio_exists():  # the rebuild wipes it: refuse before building
                try:
                    database = bench_database_confirm(opts["database_name"])
                except WipeRefused as exc:
                    raise CommandError(str(exc)) from exc
            # The build runs in its own process so that its memory is not this one's peak.
            t0 = time.monotonic()
            cmd = [sys.executable, "manage.py", "bench_settlement", "--build-only",
                   "--loans", str(n), "--seed", str(opts["seed"]), "--fresh"]
            if database:
                cmd += ["--database-name", database]
            if subprocess.run(cmd, cwd=settings.BASE_DIR, check=False).returncode:
                raise CommandError("portfolio build failed")
            say(f"portfolio build: {time.monotonic() - t0:.1f}s (not part of the timed day)")
        else:
            say(f"reusing the portfolio for N={n:,} ({portfolio.portfolio_size():,} loans now)")
        self._day(n, opts)

    def _day(self, n: int, opts) -> None:
        from benchmarks import yardstick
        from benchmarks.settlement import day as standard_day
        from benchmarks.settlement import portfolio
        from lending.settlement import runner
        from partners.models import Partner, PartnerKind

        say = self.stdout.write
        day = standard_day.next_day()
        t0 = time.monotonic()
        files = standard_day.day_files(n, day, sample=opts["sample"])
        say(f"standard day {day}: files written in {time.monotonic() - t0:.1f}s "
            f"(not timed): {files.rows}; repayment mix {files.mix}")
        platform = Partner.objects.get(code=portfolio.platform_code())
        bank = Partner.objects.get(kind=PartnerKind.BANK)
        rss_before = portfolio.maxrss_mb()

        eager = getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False)
        mode = ("Celery workers via " + settings.CELERY_BROKER_URL.split("://")[0]
                if not eager else "eager: chunks in-process one after another")
        workers = None
        if opts["workers"]:
            if eager:
                raise CommandError("--workers needs a broker: set CELERY_BROKER_URL "
                                   "(e.g. redis://127.0.0.1:6379/0)")
            from benchmarks.workers import WorkerProcesses

            workers = WorkerProcesses(settings.SETTLEMENT_QUEUE, name="bench")
            workers.start(opts["workers"])
            if not workers.wait_ready():  # not timed: the workers are up before the day
                workers.stop()
                raise CommandError(f"{opts['workers']} workers did not come up within 60 s")
            say(f"  {opts['workers']} workers up")
            mode += f", {opts['workers']} worker processes (pool solo)"
        try:
            # Not timed: a checkpoint first, so that the day starts as a daily run does, its
            # pages last changed before the latest checkpoint. Each page the day changes then
            # writes its full image to the WAL once, as in production, however soon after the
            # previous bench day this one runs (without it, the WAL a day writes depended on
            # where the server's 5-minute checkpoint cycle stood: 0.9-1.0 GB for the run after
            # a checkpoint at ~1M loans; fewer full-page images when the previous day had
            # changed the same pages since the last checkpoint).
            checkpointed = _checkpoint()
            wal0 = _wal_lsn()
            t = time.monotonic()
            delivered = standard_day.deliver(files)
            intake_s = time.monotonic() - t
            wal_intake = _wal_lsn()
            # The yardstick between intake and the run, not timed as part of the day: on the
            # books as they stand before the day (intake only stages rows), each kind rolled
            # back. The day's loans and balances files are its samples once staged.
            # A yardstick that fails still lets the day run (its files are delivered now).
            t, yardstick_error = time.monotonic(), None
            try:
                samples = standard_day.baseline_samples(day, sample=opts["sample"])
                base = yardstick.baseline_run(
                    partner_code=platform.code, partner_id=platform.pk, bank_id=bank.pk,
                    day=day, repayments=files.sample, loans=samples.loans,
                    accruals=samples.accruals, balances=samples.balances)
            except Exception as exc:  # reported after the day, the command then fails
                yardstick_error = f"{type(exc).__name__}: {exc}"
            yardstick_s = time.monotonic() - t
            rss_yardstick = portfolio.maxrss_mb()
            wal_run = _wal_lsn()
            t = time.monotonic()
            run = runner.settlement_run(partner=platform, business_date=day)
            total_s = intake_s + time.monotonic() - t
            wal_end = _wal_lsn()
        finally:
            if workers is not None:
                workers.stop()
        if run.state != "DONE":
            raise CommandError(f"run {run.state}: {run.error}")
        portfolio.portfolio_day_record(day)
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
        say(f"== bench_settlement: {portfolio.portfolio_size():,} loans, day {day}, {mode}")
        for step, secs in steps_s.items():
            note = ""
            if step == "reconcile" and "reconcile_alongside" in tm:
                note = (f"   (waited for after the statements; it took "
                        f"{tm['reconcile_alongside']:.2f} s in all, alongside positions, post"
                        " and settle)")
            if step == "intake":
                note = "   (" + ", ".join(
                    f"{kind} {d['rows']:,} rows {d['seconds']:.2f} s"
                    for kind, d in delivered.items()) + ")"
            say(f"  {step:<12} {secs:8.2f} s{note}")
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
        say(f"  peak memory (maxrss of this process): {portfolio.maxrss_mb():,.0f} MB "
            f"(before the day: {rss_before:,.0f} MB; embedded PostgreSQL's backend not included;"
            f" with real Celery workers the figure is per process; the yardstick, run between"
            f" intake and the run, had brought it to {rss_yardstick:,.0f} MB)")
        after = "after a CHECKPOINT" if checkpointed is True else f"no CHECKPOINT: {checkpointed}"
        say(f"  WAL written: intake {(wal_intake - wal0) / 2**20:,.0f} MB,"
            f" run {(wal_end - wal_run) / 2**20:,.0f} MB ({after})")
        say(f"  fingerprint {run.fingerprint}")
        if yardstick_error:
            raise CommandError(f"the per-event yardstick failed: {yardstick_error}")
        self._yardstick(base, files, samples, total_s, intake_s, yardstick_s)

    def _yardstick(self, base: dict, files, samples, total_s: float, intake_s: float,
                   yardstick_s: float) -> None:
        """The per-event yardstick against the batch day: the same day's events, each kind at
        its own per-event rate (like-for-like), and the old repayment-only figure."""
        say = self.stdout.write
        kinds = (  # (label, the day's count, result)
            ("new loans (book)", files.rows["loans"], base["loans"]),
            ("repayments + reversals", files.rows["repayments"] + files.rows["reversals"],
             base["repayments"]),
            ("accrual + ageing", samples.open_loans, base["accruals"]),
            ("balances rows", files.rows["balances"], base["balances"]),
        )
        say("")
        say("== per-event yardstick (benchmarks/yardstick/): each event one ORM"
            " transaction, one journal entry (balances: its breaks); a sample of each kind on"
            f" the books before the day, rolled back ({yardstick_s:.1f}s, not timed)")
        say(f"  {'kind':<24} {'count':>9} {'sample':>7} {'events/s':>9} {'projected s':>12}")
        projected = 0.0
        for label, count, result in kinds:
            secs = count / result.per_second if result.per_second else float("inf")
            projected += secs
            say(f"  {label:<24} {count:>9,} {result.events:>7,} {result.per_second:>9,.0f}"
                f" {secs:>12,.2f}")
        say(f"  {'per-event day (projected: sum of count / rate)':<52} {projected:>12,.2f} s")
        say(f"  {'batch day (TOTAL above: intake + run)':<52} {total_s:>12,.2f} s")
        ratio = projected / total_s if total_s else float("inf")
        say(f"  like-for-like (the same day's events): per-event / batch = {ratio:,.1f}x"
            " (target >= 100x)")
        with_intake = (projected + intake_s) / total_s if total_s else float("inf")
        say(f"    (the per-event side reads no files; with the same intake, {intake_s:.2f} s,"
            f" added to it: {with_intake:,.1f}x)")
        say("    notes: the repayment sample is on-time SCHEDULED payments, reversals counted"
            " at their rate; accruals are the open loans before the day; balances rows of"
            " loans booked, paid or aged today differ before the run, so some sampled rows"
            f" write breaks ({base['balances'].entries:,} of {base['balances'].events:,})")
        rep = base["repayments"]
        events = files.rows["repayments"] + files.rows["reversals"]
        batch_eps = events / total_s if total_s else 0.0
        old = batch_eps / rep.per_second if rep.per_second else float("inf")
        say("  old repayment-only figure (NOT like-for-like: the batch day also books, accrues,"
            " ages and reconciles the whole portfolio):")
        say(f"    batch (repayments + reversals) per second of the whole day: {batch_eps:,.0f};"
            f" per-event repayments: {rep.events:,} in {rep.seconds:.2f} s ="
            f" {rep.per_second:,.0f}/s; ratio {old:,.1f}x")


def _checkpoint() -> bool | str:
    """True after a CHECKPOINT; otherwise why not (it needs superuser or pg_checkpoint)."""
    try:
        with connection.cursor() as cur:
            cur.execute("CHECKPOINT")
        return True
    except DatabaseError as exc:
        return str(exc).strip().splitlines()[0]


def _wal_lsn() -> int:
    """The server's WAL insert position in bytes (a difference of two: the WAL written)."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')")
        return int(cur.fetchone()[0])
