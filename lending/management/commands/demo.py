"""`python manage.py demo`: load the demo through the real paths and print what it shows.

Partners, agreements and programs through the services; then every demo business day the
platforms' four files go through intake and the day is settled (booking, repayments, accruals,
aging, claims, posting, statements, reconciliation, checks). Days already settled are kept,
so a second run only prints.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from django.db.models import Count, Sum

from ledger import checks
from lending import demo, demo_disputes, selectors
from lending.models import Claim, ClaimStatus, Loan, Movement
from reports.selectors import dashboard


class Command(BaseCommand):
    help = "Load the demo data, settle every demo day and print the results."

    def handle(self, *args, **options):
        out = self.stdout
        started = time.monotonic()
        demo.demo_setup()
        days = demo.demo_settle(progress=lambda m: self.stderr.write(m))
        out.write(f"Settled {days} partner-days now ({demo.DEMO_START} .. {demo.DEMO_END}) "
                  f"in {time.monotonic() - started:.1f}s.")
        shown = demo.demo_statements()
        out.write(f"Statements: {shown['confirmed'] or '-'} confirmed by ALPHA, "
                  f"{shown['paid'] or '-'} paid (a bank statement line); the others are "
                  "issued and unpaid.")

        paid = Claim.objects.filter(status=ClaimStatus.PAID)
        moved = dict(Movement.objects.filter(event__in=("RECOVERY", "WO_RECOVERY"))
                     .values_list("event").annotate(n=Count("txn_id", distinct=True))
                     .order_by())  # payments (a payment moves one amount per funder)
        out.write(f"Risk: {paid.count()} claims paid by the guarantor "
                  f"({paid.aggregate(s=Sum('amount'))['s'] or 0:,.2f}), "
                  f"{Loan.objects.filter(accruing=False).count()} non-accrual loan(s), "
                  f"{Loan.objects.filter(state='WRITTEN_OFF').count()} written off; "
                  f"recoveries paid: {moved.get('RECOVERY', 0)} after a claim, "
                  f"{moved.get('WO_RECOVERY', 0)} after a write-off.")

        lines = selectors.portfolio_summary_list()
        header = (f"{'partner':<10}{'program':<8}{'loans':>8}{'principal':>18}"
                  f"{'bank share':>18}{'partner share':>18}{'outstanding':>18}")
        out.write("\nPortfolio by partner and program (funded principal)")
        out.write(header)
        out.write("-" * len(header))
        for ln in lines:
            out.write(f"{ln.partner:<10}{ln.program:<8}{ln.loans:>8}{ln.principal:>18,.2f}"
                      f"{ln.bank_principal:>18,.2f}{ln.partner_principal:>18,.2f}"
                      f"{ln.outstanding:>18,.2f}")

        rows = selectors.settlement_summary_list()
        header = (f"{'partner':<10}{'days':>6}{'collections':>18}{'bank share':>18}"
                  f"{'partner share':>18}{'bank disbursed':>18}{'net settlement':>18}"
                  f"{'quarantined':>13}{'open breaks':>13}")
        out.write("\nSettlement by partner (all demo days; net + = the partner pays the bank)")
        out.write(header)
        out.write("-" * len(header))
        for r in rows:
            out.write(f"{r.partner:<10}{r.days:>6}{r.collections:>18,.2f}{r.bank_share:>18,.2f}"
                      f"{r.partner_share:>18,.2f}{r.disbursed_bank:>18,.2f}{r.net_settlement:>18,.2f}"
                      f"{r.quarantined:>13}{r.breaks_open:>13}")

        out.write("\nOpen breaks by age, as the dashboard shows them (days from first to last seen)")
        for day in dashboard.dashboard_get().partners:
            if day.breaks_open:
                out.write(f"  {day.partner.code:<8} " + "  ".join(
                    f"{label}: {n}" for label, n in day.break_buckets))
        for brk in demo_disputes.dispute_breaks(demo.DEMO_END):
            out.write(f"  {brk.partner.code:<8} {brk.loan_no} {brk.field.lower()} "
                      f"{brk.difference:+,.2f} {brk.status} {brk.business_date} .. "
                      f"{brk.last_seen_on} ({brk.age_days} days)")

        problems = checks.run_checks(as_of=demo.DEMO_END)
        out.write("\nChecks (every entry balanced, trial balances, sub-ledger = GL, statements "
                  "tie to postings, file rows = applied + quarantined):")
        if problems:
            for p in problems[:20]:
                out.write(f"  FAIL {p}")
        else:
            out.write(f"  all {len(checks.registered())} checks pass as of {demo.DEMO_END}")
        out.write("\nBook of days (business days of the calendar; alerts after the cut-off)")
        for st in demo.demo_status():
            line = (f"  {st['partner']:<8} last settled day {st['last_settled'] or '-'}"
                    f"  next open day {st['first_open'] or 'none up to ' + str(demo.DEMO_END)}")
            out.write(line)
            for message in st["alerts"]:
                out.write(f"    ALERT {message}")
            if not st["alerts"]:
                out.write("    no alert")
        out.write(f"\nStaff login: http://127.0.0.1:8000/admin/  user {demo.STAFF_USERNAME}"
                  f"  password {demo.STAFF_PASSWORD}")
        for code, username in demo.partner_logins():
            out.write(f"Partner login ({code}): http://127.0.0.1:8000/reports/partner/login/"
                      f"  user {username}  password {demo.PARTNER_PASSWORD}")
