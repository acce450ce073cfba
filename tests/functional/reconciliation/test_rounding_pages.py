"""Staff see a break cleared into rounding with its rounding entry, and open that entry."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from ledger.models import JournalEntry
from lending.reconciliation import rounding, services
from tests.factories import reconciliation as rf

pytestmark = pytest.mark.django_db

D1 = date(2026, 6, 16)  # our interest: 15/30 of 100.00


def test_the_break_list_links_the_rounding_entry(admin_client):
    platform, program = rf.platform_with_program("ALPHA")
    rf.loans(program, ["A", "B"])
    rf.balances_file(platform, D1, [("A", "10000.00", "50.01", "0.00", 0, "ACTIVE"),
                                    ("B", "10000.00", "50.02", "0.00", 0, "ACTIVE")])
    services.breaks_reconcile(partner_id=platform.pk, business_date=D1)
    entry = JournalEntry.objects.get(purpose=rounding.PURPOSE)
    href = reverse("reports:journal-entry-detail", args=[entry.pk])

    cleared = admin_client.get(reverse("reports:break-list"), {"status": "AUTO_CLEARED"})
    opened = admin_client.get(reverse("reports:break-list"))

    assert cleared.status_code == opened.status_code == 200
    assert cleared.content.decode().count(f'class="rounding-entry" href="{href}"') == 1
    assert "cleared into rounding 6903 of MEMO_ALPHA" in cleared.content.decode()
    assert "rounding-entry" not in opened.content.decode()  # B's 0.02 is open, not rounding
    page = admin_client.get(href)
    assert page.status_code == 200
    assert "6903" in page.content.decode() and "MEMO_ALPHA" in page.content.decode()
