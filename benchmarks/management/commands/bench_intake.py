"""Benchmark of partner file intake.

    python manage.py bench_intake --rows 1000000 [--bad-share 0.01] [--keep]

Generates a repayments file of N rows (about --bad-share of them bad: unknown loan, bad amount,
future date, repeated txn_no, missing field) against loans of a scratch partner BENCH (created
set-based on first use and reused), imports it through the same service as the command, and
prints rows per second and the process's peak memory (ru_maxrss). By default the import is
rolled back afterwards so runs can be repeated, and the staging tables are then vacuumed (not
timed): a rolled-back million-row insert leaves a million dead tuples and index entries with
the very keys the next run inserts, which would slow it down by half, and index pages that only
a later VACUUM can recycle, so the staging table is reindexed too — states production never
sees. --keep commits it (each kept run moves on one business date). --verbosity 2 prints
the service's per-step timings (the `lending.intake` logger at INFO).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone

from benchmarks.settlement.portfolio import maxrss_mb
from lending.intake.services import partner_file_import
from lending.models import Agreement, AgreementFunder, AgreementVersion, Program
from partners.models import Channel, InboundFile, Partner

BENCH_PARTNER = "BENCH"
BUSINESS_DATE = date(2026, 11, 30)  # a business day (FILE_FORMATS 1.1)
LOANS_PER_REPAYMENT = 4  # one loan per 4 repayments: joins as large as a real busy day


class _Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Generate and import a repayments file of N rows; print rows/s and peak memory."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=100_000)
        parser.add_argument("--bad-share", type=float, default=0.01)
        parser.add_argument("--keep", action="store_true", help="commit the import")
        parser.add_argument("--dir", default=None, help="where to write the file (temp dir)")

    def handle(self, *args, rows: int, bad_share: float, keep: bool, dir: str | None,
               **options):
        if options.get("verbosity", 1) >= 2:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("  %(message)s"))
            intake_log = logging.getLogger("lending.intake")
            intake_log.addHandler(handler)
            intake_log.setLevel(logging.INFO)
            intake_log.propagate = False
        partner = self._scratch_partner()
        loans = max(100, rows // LOANS_PER_REPAYMENT)
        started = time.perf_counter()
        created = self._ensure_loans(partner, loans)
        self.stdout.write(f"loans: {loans} ({created} created in "
                          f"{time.perf_counter() - started:.1f} s)")
        # kept runs move on one business date each, so every run imports a fresh file
        kept = InboundFile.objects.filter(partner=partner, kind="repayments",
                                          status="ACCEPTED").count()
        from partners.calendar import business_days

        day = business_days(BUSINESS_DATE, BUSINESS_DATE + timedelta(days=2 * kept + 14))[kept]
        with tempfile.TemporaryDirectory(dir=dir) as tmp:
            path = Path(tmp) / f"{BENCH_PARTNER}_repayments_{day:%Y%m%d}.csv"
            started = time.perf_counter()
            control = _generate(path, rows, loans, bad_share, day)
            size_mb = path.stat().st_size / 1e6
            self.stdout.write(f"file: {rows} rows, {size_mb:.1f} MB, generated in "
                              f"{time.perf_counter() - started:.1f} s")
            rss_before = maxrss_mb()
            started = time.perf_counter()
            try:
                with transaction.atomic(), path.open("rb") as data:
                    result = partner_file_import(
                        name=path.name, data=data, control=control, channel=Channel.COMMAND,
                        sent_by_label="bench_intake",
                    )
                    if not keep:
                        raise _Rollback
            except _Rollback:
                pass
            elapsed = time.perf_counter() - started  # with the commit (or the rollback)
        if not keep:
            started = time.perf_counter()
            with connection.cursor() as cur:  # outside any transaction (autocommit)
                cur.execute("VACUUM lending_stagedrepayment, partners_quarantinedrow")
                # The rolled-back keys' index pages are not reusable until a later VACUUM, so
                # every run would leave its b-trees ~60 MB larger and the next insert slower
                # (measured: staging insert 8.4, 9.7, 10.6 s over three runs after a REINDEX).
                cur.execute("REINDEX TABLE lending_stagedrepayment")
            vacuumed = time.perf_counter() - started
        peak = maxrss_mb()
        summary = result.as_dict()
        self.stdout.write(json.dumps(summary))
        self.stdout.write(
            f"import: {rows} rows in {elapsed:.2f} s = {rows / elapsed:,.0f} rows/s; "
            f"peak memory (maxrss) {peak:.0f} MB (before import {rss_before:.0f} MB)"
            + ("" if keep else f"; rolled back (then VACUUM and REINDEX, {vacuumed:.1f} s, "
                                 "not timed)")
        )

    def _scratch_partner(self) -> Partner:
        partner = Partner.objects.filter(code=BENCH_PARTNER).first()
        if partner is not None:
            return partner
        User = get_user_model()
        with transaction.atomic():
            bank = Partner.objects.get(kind="BANK")
            partner = Partner.objects.create(code=BENCH_PARTNER, legal_name="Benchmark scratch",
                                             kind="PLATFORM")
            maker, _ = User.objects.get_or_create(username="bench_maker")
            checker, _ = User.objects.get_or_create(username="bench_checker")
            agreement = Agreement.objects.create(code="AG_BENCH", name="Benchmark",
                                                 platform=partner)
            version = AgreementVersion.objects.create(
                agreement=agreement, version=1, effective_from=date(2026, 1, 1),
                residual_owner=partner, created_by=maker,
            )
            AgreementFunder.objects.create(version=version, funder=bank,
                                           principal_ratio=Decimal("0.7"))
            AgreementFunder.objects.create(version=version, funder=partner,
                                           principal_ratio=Decimal("0.3"))
            AgreementVersion.objects.filter(pk=version.pk).update(
                status="ACTIVE", approved_by=checker, approved_at=timezone.now()
            )
            Program.objects.create(partner=partner, agreement=agreement, code="BP1",
                                   name="Benchmark program")
        return partner

    def _ensure_loans(self, partner: Partner, count: int) -> int:
        """Loans BL0000001… of the scratch partner, inserted set-based (one statement)."""
        program = Program.objects.get(partner=partner, code="BP1")
        version = AgreementVersion.objects.get(agreement=program.agreement, version=1)
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                """
                INSERT INTO lending_loan (partner_id, loan_no, program_id, agreement_version_id,
                    borrower_token, principal, annual_rate, term_months, repayment_method,
                    disbursed_on, bank_approval_ref, bank_ratio, state, dpd, risk_class,
                    accruing, principal_outstanding, interest_outstanding, penalty_outstanding,
                    compound_outstanding, overpaid_amount, booked_on)
                SELECT %(partner)s, 'BL' || lpad(i::text, 7, '0'), %(program)s, %(version)s,
                       md5(i::text) || md5((i + 1)::text), 10000.00, 0.12, 12,
                       'EQUAL_INSTALLMENT', DATE '2026-06-01', 'BENCH-' || i, 0.7, 'ACTIVE', 0,
                       'NORMAL', true, 10000.00, 0, 0, 0, 0, DATE '2026-06-01'
                  FROM generate_series(1, %(count)s) i
                ON CONFLICT (partner_id, loan_no) DO NOTHING
                """,
                {"partner": partner.pk, "program": program.pk, "version": version.pk,
                 "count": count},
            )
            return cur.rowcount


def _generate(path: Path, rows: int, loans: int, bad_share: float, business_date: date) -> bytes:
    """Write the repayments file in chunks; return its control file."""
    every = max(1, round(1 / bad_share)) if bad_share > 0 else 0
    digest = hashlib.sha256()
    total_cents = 0
    day = business_date.isoformat()
    future = (business_date + timedelta(days=1)).isoformat()
    prefix = f"R{business_date:%Y%m%d}"
    with path.open("wb") as out:
        lines = ["txn_no,loan_no,paid_on,amount,payer,kind"]
        for i in range(1, rows + 1):
            cents = 10000 + (i * 7919) % 90000
            loan = f"BL{(i % loans) + 1:07d}"
            txn = f"{prefix}{i:09d}"
            amount = f"{cents // 100}.{cents % 100:02d}"
            paid_on = day
            bad = every and i % every == 0
            if bad:
                which = (i // every) % 5
                if which == 0:
                    loan = "NOSUCHLOAN"
                elif which == 1:
                    amount, cents = "12.345", 0  # 3 decimals: BAD_AMOUNT, not in the total
                elif which == 2:
                    paid_on = future
                elif which == 3:
                    txn = f"{prefix}{i - 1:09d}"  # repeats the previous row's txn_no
                else:
                    # a missing field (a short row would reject the file, FILE_FORMATS 1.1)
                    lines.append(f"{txn},{loan},{paid_on},,BORROWER,SCHEDULED")
                    continue
            total_cents += cents
            lines.append(f"{txn},{loan},{paid_on},{amount},BORROWER,SCHEDULED")
            if len(lines) >= 50_000:
                chunk = ("\n".join(lines) + "\n").encode()
                digest.update(chunk)
                out.write(chunk)
                lines = []
        if lines:
            chunk = ("\n".join(lines) + "\n").encode()
            digest.update(chunk)
            out.write(chunk)
    total = Decimal(total_cents).scaleb(-2)
    return json.dumps({"partner": BENCH_PARTNER, "kind": "repayments",
                       "business_date": day, "rows": rows,
                       "amount_total": f"{total:.2f}", "sha256": digest.hexdigest()}).encode()
