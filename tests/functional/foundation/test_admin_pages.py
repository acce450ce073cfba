"""Back-office admin pages load for staff, and a loan page shows its shares and schedule."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from lending import services
from lending.models import Agreement, AgreementVersion, Loan, Program
from tests.factories import lending as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def loan():
    platform = f.partner("ALPHA")
    version = f.active_agreement(code="AG-ALPHA", platform=platform)
    program = f.program(code="CASH", version=version)
    services.loans_book(
        loans=[services.LoanToBook(
            partner_id=platform.pk, loan_no="LN-ADMIN-1", program_id=program.pk,
            borrower_token="b" * 64, principal=Decimal("10000.00"),
            annual_rate=Decimal("0.18"), term_months=12, repayment_method="EQUAL_INSTALLMENT",
            disbursed_on=date(2024, 3, 1), bank_approval_ref="BA-1")],
        booked_on=date(2024, 3, 1),
    )
    return Loan.objects.get(loan_no="LN-ADMIN-1")


@pytest.mark.parametrize("model", ["partners.partner", "lending.program", "lending.agreement",
                                   "lending.agreementversion", "lending.loan",
                                   "lending.reconciliation", "lending.settlementrun"])
def test_changelists_load_for_staff(staff_client, loan, model):
    app, name = model.split(".")
    response = staff_client.get(reverse(f"admin:{app}_{name}_changelist"))
    assert response.status_code == 200


def test_changelist_search_and_filters(staff_client, loan):
    url = reverse("admin:lending_loan_changelist")
    hit = staff_client.get(url, {"q": "LN-ADMIN-1"})
    assert b"LN-ADMIN-1" in hit.content
    miss = staff_client.get(url, {"q": "NO-SUCH-LOAN"})
    assert b"LN-ADMIN-1" not in miss.content
    filtered = staff_client.get(url, {"state__exact": "ACTIVE", "partner__id__exact":
                                      loan.partner_id})
    assert b"LN-ADMIN-1" in filtered.content


def test_loan_page_shows_shares_and_schedule(staff_client, loan):
    response = staff_client.get(reverse("admin:lending_loan_change", args=[loan.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "7000.00" in html and "3000.00" in html  # the bank's and ALPHA's funded principal
    assert "916.80" not in html  # the page shows components, not instalment totals
    assert "766.80" in html and "150.00" in html  # period 1 principal and interest (DOMAIN §3.1)
    assert html.count("2025-0") + html.count("2024-") >= 12  # twelve due dates


def test_detail_pages_load(staff_client, loan):
    version = AgreementVersion.objects.get()
    for url in [
        reverse("admin:partners_partner_change", args=[loan.partner_id]),
        reverse("admin:lending_program_change", args=[Program.objects.get().pk]),
        reverse("admin:lending_agreement_change", args=[Agreement.objects.get().pk]),
        reverse("admin:lending_agreementversion_change", args=[version.pk]),
    ]:
        assert staff_client.get(url).status_code == 200, url


def test_active_agreement_version_is_read_only_in_admin(staff_client, loan):
    version = AgreementVersion.objects.get()
    url = reverse("admin:lending_agreementversion_change", args=[version.pk])
    html = staff_client.get(url).content.decode()
    assert 'name="service_fee_rate"' not in html  # rendered read-only, not as an input
    staff_client.post(url, {"service_fee_rate": "0.5"})
    version.refresh_from_db()
    assert version.service_fee_rate == 0


def test_anonymous_is_sent_to_login(client, loan):
    response = client.get(reverse("admin:lending_loan_changelist"))
    assert response.status_code == 302 and "/login/" in response["Location"]
