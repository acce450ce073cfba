"""Back-office staff use the ledger admin."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from ledger.models import JournalEntry, Period

pytestmark = pytest.mark.django_db


def test_trial_balance_page(staff_client, posted_gl):
    url = reverse("admin:ledger_trial_balance")
    resp = staff_client.get(url, {"book": "BANK_GL", "date": "2026-03-03"})
    assert resp.status_code == 200
    body = resp.content.decode()
    assert "LOANS_RECEIVABLE" in body and "1000.00" in body and "Debits equal credits" in body
    assert staff_client.get(url, {"book": "BANK_GL", "date": "bad"}).status_code == 200


def test_entries_are_read_only_with_lines_inline(staff_client, posted_gl):
    entry = JournalEntry.objects.get(idempotency_key="f:disb")
    resp = staff_client.get(reverse("admin:ledger_journalentry_change", args=[entry.pk]))
    assert resp.status_code == 200
    body = resp.content.decode()
    assert "1000.00" in body and 'name="_save"' not in body
    assert staff_client.get(reverse("admin:ledger_journalentry_add")).status_code == 403
    resp = staff_client.get(reverse("admin:ledger_journalentry_delete", args=[entry.pk]))
    assert resp.status_code == 403
    assert staff_client.get(reverse("admin:ledger_journalentry_changelist")).status_code == 200


def test_books_accounts_and_periods_pages(staff_client, posted_gl):
    for name in ["ledger_book_changelist", "ledger_account_changelist",
                 "ledger_period_changelist"]:
        assert staff_client.get(reverse(f"admin:{name}")).status_code == 200


def test_close_a_period_after_confirmation(staff_client, posted_gl):
    period = Period.objects.get(book__code="BANK_GL", start_date=date(2026, 3, 1))
    url = reverse("admin:ledger_period_close", args=[period.pk])
    resp = staff_client.get(url)
    assert resp.status_code == 200 and "Yes, close the period" in resp.content.decode()
    period.refresh_from_db()
    assert period.status == "OPEN"  # GET only asks
    resp = staff_client.post(url)
    assert resp.status_code == 302
    period.refresh_from_db()
    assert (period.status, period.closed_by) == ("CLOSED", "staff")
    resp = staff_client.post(url, follow=True)  # closing twice is refused with a message
    assert "already closed" in resp.content.decode()
