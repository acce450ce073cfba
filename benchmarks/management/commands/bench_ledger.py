"""Benchmark the posting service: post generated balanced entries into a scratch book.

Measured on the 2-core development machine, ``--entries 1000 --lines-per-entry 100`` (100,000
lines, committed): 68,000-96,000 lines/s on the embedded PostgreSQL, 59,000-71,000 lines/s on
the machine's PostgreSQL 15; peak RSS about 135 MB (the 100,000 drafts included). Per-row
FOREIGN KEY triggers on lines used to cost ~2 s of that and were replaced by the set-based
statement trigger (see ledger/models.py).
"""

from __future__ import annotations

import random
import resource
import sys
import time
import tracemalloc
import uuid
from datetime import date
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from benchmarks.ledger_book import scratch_book_ensure
from ledger.domain import chart
from ledger.domain.drafts import EntryDraft, LineDraft
from ledger.services import journal_entries_post

SCRATCH_BOOK = "BENCH_SCRATCH"
ACCOUNTS = [a.code for a in chart.CHART]


class _Rollback(Exception):
    pass


def make_drafts(*, entries: int, lines_per_entry: int, business_date: date, run: str,
                seed: int) -> list[EntryDraft]:
    """Balanced drafts: K-1 random lines, the last one takes the other side of their net."""
    rng = random.Random(seed)
    drafts = []
    for i in range(entries):
        lines = []
        net = 0
        for j in range(lines_per_entry - 1):
            cents = rng.randint(1, 10_000_000)
            amount = Decimal(cents).scaleb(-2)
            account = ACCOUNTS[(i + j) % len(ACCOUNTS)]
            dims = {"program": f"P{j % 7}", "counterparty": f"C{j % 3}", "source": f"{run}:{i}:{j}"}
            if j % 2 == 0:
                lines.append(LineDraft.dr(account, amount, **dims))
                net += cents
            else:
                lines.append(LineDraft.cr(account, amount, **dims))
                net -= cents
        if net == 0:  # keep every line one-sided and > 0
            lines.append(LineDraft.dr(chart.CASH, Decimal("0.01")))
            net += 1
            lines[-2:] = lines[-2:]
        closing = Decimal(abs(net)).scaleb(-2)
        lines.append(LineDraft.cr(chart.ROUNDING, closing) if net > 0
                     else LineDraft.dr(chart.ROUNDING, closing))
        drafts.append(
            EntryDraft(book=SCRATCH_BOOK, business_date=business_date,
                       idempotency_key=f"bench:{run}:{i}", purpose="BENCH",
                       lines=tuple(lines), source_run=f"bench:{run}")
        )
    return drafts


class Command(BaseCommand):
    help = "Post N generated balanced entries of K lines into a scratch book; print lines/s."

    def add_arguments(self, parser):
        parser.add_argument("--entries", type=int, default=1000)
        parser.add_argument("--lines-per-entry", type=int, default=100)
        parser.add_argument("--date", type=date.fromisoformat, default=None,
                            help="business date of the entries (default: today)")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--rollback", action="store_true",
                            help="roll back instead of committing (leaves no rows behind)")
        parser.add_argument("--tracemalloc", action="store_true",
                            help="also report Python peak allocation (slows the run)")

    def handle(self, *args, **opts):
        n, k = opts["entries"], opts["lines_per_entry"]
        if n < 1 or k < 2:
            raise CommandError("--entries must be >= 1 and --lines-per-entry >= 2")
        business_date = opts["date"] or date.today()  # noqa: DTZ011 - a command may read the clock
        scratch_book_ensure(code=SCRATCH_BOOK)
        run = uuid.uuid4().hex[:12]

        t0 = time.perf_counter()
        drafts = make_drafts(entries=n, lines_per_entry=k, business_date=business_date,
                             run=run, seed=opts["seed"])
        gen_s = time.perf_counter() - t0
        lines = sum(len(d.lines) for d in drafts)

        if opts["tracemalloc"]:
            tracemalloc.start()
        t0 = time.perf_counter()
        try:
            with transaction.atomic():
                result = journal_entries_post(drafts=drafts)
                if opts["rollback"]:
                    raise _Rollback
        except _Rollback:
            pass
        post_s = time.perf_counter() - t0
        traced = tracemalloc.get_traced_memory()[1] if opts["tracemalloc"] else None
        tracemalloc.stop()

        maxrss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if sys.platform == "darwin":
            maxrss_kb //= 1024
        self.stdout.write(
            f"entries={result.posted_count} lines={lines} generate_s={gen_s:.2f} "
            f"post_s={post_s:.3f} lines_per_s={lines / post_s:,.0f} "
            f"peak_rss_mb={maxrss_kb / 1024:.1f}"
            + (f" py_peak_alloc_mb={traced / 2**20:.1f}" if traced is not None else "")
            + (" (rolled back)" if opts["rollback"] else "")
        )
