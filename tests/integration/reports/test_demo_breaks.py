"""The demo shows open breaks of more than a day (issue 22, "demo data that shows everything"):
the platforms' balances files get a figure wrong for days on end (lending.demo_disputes), the
files go through intake and the runs, and the dashboard shows the breaks in the 3–5 and 6+ day
buckets; the one the platform corrects closes itself. The portfolio snapshot is taken after each
settled day, so the DPD 30+ trend has a point per day. Three weeks of the demo's own writer and
runs, with `end` three weeks after the start instead of the demo's 2026-12-04."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ledger import checks
from lending import demo, demo_disputes
from lending.reconciliation.models import Break
from partners.calendar import business_days, next_business_day
from partners.models import Partner
from reports.models import PortfolioDay
from reports.selectors.dashboard import dashboard_get

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

START, END = date(2026, 3, 2), date(2026, 3, 20)  # Monday to Friday, no holiday between


def _break(code: str, pick: int, field: str) -> Break:
    partner = Partner.objects.get(code=code)
    loan_no = demo_disputes.dispute_loans(partner.pk, pick + 1)[pick]
    (brk,) = Break.objects.filter(partner=partner, loan_no=loan_no, field=field)
    return brk


def test_the_demo_leaves_breaks_open_for_days_and_the_corrected_one_closes_itself(staff_client):
    demo.demo_setup()
    assert demo.demo_settle(start=START, end=END, per_day=4) == 30  # 15 days × 2 platforms
    assert checks.run_checks(as_of=END) == []

    fixed = _break("ALPHA", 0, "INTEREST")  # wrong 03-06 .. 03-13, right again 03-16
    assert (fixed.status, fixed.business_date, fixed.last_seen_on, fixed.difference) == (
        "AUTO_CLEARED", date(2026, 3, 6), date(2026, 3, 13), Decimal("12.34"))
    assert fixed.age_days == 7 and "no longer differs" in fixed.resolution_note
    old = _break("ALPHA", 1, "PRINCIPAL")  # wrong from 03-12 on
    assert (old.status, old.business_date, old.last_seen_on, old.difference) == (
        "OPEN", date(2026, 3, 12), END, Decimal("-200.00"))
    recent = _break("BETA", 0, "INTEREST")  # wrong from 03-17 on
    assert (recent.status, recent.business_date, recent.last_seen_on, recent.difference) == (
        "OPEN", date(2026, 3, 17), END, Decimal("8.80"))

    assert demo_disputes.dispute_breaks(END) == [fixed, old, recent]  # what `make demo` prints
    # every other difference of the demo's files is a timing difference: the next business
    # day's file clears it
    others = Break.objects.exclude(pk__in=[fixed.pk, old.pk, recent.pk])
    assert others.exists()
    assert [b for b in others if b.last_seen_on > next_business_day(b.business_date)] == []

    # the portfolio snapshot after each settled day, so the DPD 30+ trend has every day
    days = list(business_days(START, END))
    assert sorted(set(PortfolioDay.objects.values_list("business_date", flat=True))) == days
    dashboard = dashboard_get()
    assert [label for label, _ in dashboard.trends["dpd30"]] == [d.isoformat() for d in days]

    board = {d.partner.code: dict(d.break_buckets) for d in dashboard.partners}
    assert board["ALPHA"]["6+"] == 1 and board["BETA"]["3-5"] == 1
    assert board["ALPHA"]["3-5"] == 0 and board["BETA"]["6+"] == 0

    # the breaks list: open ones of 6+ days, and the corrected one saying it closed itself
    page = staff_client.get("/reports/breaks/", {"age": "6+"})
    assert [b.pk for b in page.context["page"]] == [old.pk]
    page = staff_client.get("/reports/breaks/", {"status": "AUTO_CLEARED", "age": "6+"})
    assert [b.pk for b in page.context["page"]] == [fixed.pk]
    row = page.content.decode().split(f'id="break-{fixed.pk}"')[1].split("</tr>")[0]
    assert "no longer differs" in row
