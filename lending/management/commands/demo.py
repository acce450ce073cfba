"""`python manage.py demo`: load the demo data (idempotent) and print the portfolio summary."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from lending import demo, selectors


class Command(BaseCommand):
    help = "Load the demo data through the services and print the portfolio summary."

    def handle(self, *args, **options):
        demo.demo_setup()
        result = demo.demo_book_loans()
        if result.rejected:
            raise CommandError(f"demo loans rejected: {result.rejected[:5]}")
        out = self.stdout
        out.write(f"Booked {result.booked} new demo loans ({result.principal} CNY).")
        lines = selectors.portfolio_summary_list()
        header = (f"{'partner':<10}{'program':<8}{'loans':>8}{'principal':>16}"
                  f"{'bank share':>16}{'partner share':>16}{'outstanding':>16}")
        out.write("\nPortfolio by partner and program")
        out.write(header)
        out.write("-" * len(header))
        for ln in lines:
            out.write(f"{ln.partner:<10}{ln.program:<8}{ln.loans:>8}{ln.principal:>16,}"
                      f"{ln.bank_principal:>16,}{ln.partner_principal:>16,}"
                      f"{ln.outstanding:>16,}")
        if lines:
            total = [sum(getattr(ln, a) for ln in lines)
                     for a in ("loans", "principal", "bank_principal", "partner_principal",
                               "outstanding")]
            out.write("-" * len(header))
            out.write(f"{'total':<18}{total[0]:>8}{total[1]:>16,}{total[2]:>16,}"
                      f"{total[3]:>16,}{total[4]:>16,}")
        out.write(f"\nStaff login: http://127.0.0.1:8000/admin/  user {demo.STAFF_USERNAME}"
                  f"  password {demo.STAFF_PASSWORD}")
