"""Issue 22, the settlement lifecycle on the pages and the partner API: a statement's status,
due date, reference and payments on the staff and partner pages; the counterparty's running
balance from the GL on its page (acceptance 3); finance records a payment on its admin page;
the partner confirms or disputes its own statements on its page and through the API, and gets
404 for another partner's.

Golden world as tests/integration/settlement/test_statement_lifecycle.py: ALPHA's D0 statement
−10,500.00 (the bank pays ALPHA), D1 +641.77 (ALPHA pays the bank); GUARD is another partner."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal as D

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from lending.settlement import statements
from lending.settlement.models import PaymentSource, Statement, StatementPayment, StatementStatus
from partners import services as partner_services
from partners.models import Partner, PartnerUser
from tests.functional.controls.helpers import role_user
from tests.golden.conftest import golden  # noqa: F401 - the golden world fixture
from tests.golden.helpers import loan_row, pay_row, settle
from tests.integration.settlement.test_statement_lifecycle import D0, D1, _gl

pytestmark = pytest.mark.django_db

RECORD = "admin:lending_statementpayment_add"


def _partner(code: str, name: str):
    user = get_user_model().objects.create_user(name, password="x")
    link = PartnerUser.objects.create(user=user, partner=Partner.objects.get(code=code))
    web = Client()
    web.force_login(user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Api-Key "
                    + partner_services.api_key_issue(partner_user=link, label="t")[1])
    return user, web, api


@pytest.fixture
def world(golden):  # noqa: F811
    settle(D0, loans=[loan_row("L1"), loan_row("L2", principal="5000.00")])
    settle(D1, repayments=[pay_row("T1", "L1", D1, "916.80")])
    alpha_user, alpha_web, alpha_api = _partner("ALPHA", "alpha-user")
    _, guard_web, guard_api = _partner("GUARD", "guard-user")
    return {"d0": Statement.objects.get(counterparty__code="ALPHA", business_date=D0),
            "d1": Statement.objects.get(counterparty__code="ALPHA", business_date=D1),
            "alpha_user": alpha_user, "alpha": alpha_web, "alpha_api": alpha_api,
            "guard": guard_web, "guard_api": guard_api}


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _text(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert found, element_id
    return found.group(1).strip()


def test_finance_records_a_payment_and_the_counterparty_page_shows_the_gl_balance(world):
    d1 = world["d1"]
    finance = _client(role_user("fiona", "finance"))
    assert _client(role_user("olga", "operator")).get(reverse(RECORD)).status_code == 403
    page = finance.get(reverse("reports:statement-detail", args=[d1.pk])).content.decode()
    assert (_text(page, "statement-status-value"), _text(page, "statement-due-date"),
            _text(page, "statement-reference")) == ("Issued to the counterparty", "2026-02-24",
                                                    d1.payment_reference)
    assert 'id="record-payment"' in page
    # a refusal is a form error; nothing recorded
    resp = finance.post(reverse(RECORD), {"reference": d1.payment_reference,
                                          "value_date": "2026-02-24", "amount": "700.00"})
    assert resp.status_code == 200 and "overpays statement" in resp.content.decode()
    assert not StatementPayment.objects.exists()
    resp = finance.post(reverse(RECORD), {"reference": d1.payment_reference,
                                          "value_date": "2026-02-24", "amount": "641.77"},
                        follow=True)
    assert "recorded and posted; the statement is PAID" in resp.content.decode()
    payment = StatementPayment.objects.get()
    assert (payment.source, payment.recorded_by.username, payment.amount) == (
        PaymentSource.STAFF, "fiona", D("641.77"))

    olga = _client(role_user("olga2", "operator"))  # reads statements: no payment link
    page = olga.get(reverse("reports:statement-detail", args=[d1.pk])).content.decode()
    assert _text(page, "statement-status-value") == "Paid"
    assert _text(page, "statement-outstanding") == "0.00" and 'id="record-payment"' not in page
    page = olga.get(reverse("reports:counterparty-day", args=["ALPHA", "2026-02-16"])
                    ).content.decode()
    gl = _gl("ALPHA")
    assert D(_text(page, "running-balance-total")) == sum(gl.values()) == D("-10500.00")
    for code, amount in gl.items():
        shown = re.search(rf'data-account="{code}"><td>[^<]*</td><td class="num">([^<]*)<',
                          page)
        assert D(shown.group(1)) == amount, code
    assert D(_text(page, "running-balance-day")) == D("-10500.00") + D("641.77")  # by D1
    assert "Recorded by finance staff" in page and d1.payment_reference in page


def test_the_partner_confirms_or_disputes_its_statement_on_its_page(world):
    d0, d1, alpha = world["d0"], world["d1"], world["alpha"]
    page = alpha.get(reverse("reports:partner-statement-detail", args=[d0.pk])).content.decode()
    assert _text(page, "statement-due-date") == "2026-01-16"
    assert 'id="confirm-statement"' in page and 'id="dispute-statement"' in page
    listing = alpha.get(reverse("reports:partner-statement-list")).content.decode()
    assert d0.payment_reference in listing and "ISSUED" in listing
    dispute = reverse("reports:partner-statement-dispute", args=[d0.pk])
    assert alpha.get(dispute).status_code == 200  # the page that asks why
    resp = alpha.post(dispute, {"reason": " "}, follow=True)
    assert "A dispute needs a reason" in resp.content.decode()  # (capitalised)
    resp = alpha.post(dispute, {"reason": "L2 was never paid out"}, follow=True)
    page = resp.content.decode()
    assert f"Statement {d0.payment_reference} is DISPUTED" in page
    assert "L2 was never paid out" in _text(page, "statement-dispute")
    d0.refresh_from_db()
    assert (d0.status, d0.disputed_by) == (StatementStatus.DISPUTED, world["alpha_user"])
    resp = alpha.post(reverse("reports:partner-statement-confirm", args=[d1.pk]), follow=True)
    assert f"Statement {d1.payment_reference} is CONFIRMED" in resp.content.decode()
    # another partner's statement: 404, and nothing changes
    for name in ("reports:partner-statement-confirm", "reports:partner-statement-dispute"):
        url = reverse(name, args=[d0.pk])
        assert world["guard"].post(url, {"reason": "x"}).status_code == 404
        assert world["guard"].get(url).status_code == 404
    d0.refresh_from_db()
    assert d0.status == StatementStatus.DISPUTED


def test_the_partner_api_confirms_and_disputes_only_its_own_statements(world):
    d0, d1, api = world["d0"], world["d1"], world["alpha_api"]
    got = api.get(f"/api/v1/statements/{d1.pk}/").json()
    assert {k: got[k] for k in ("status", "due_date", "payment_reference", "paid_on")} == {
        "status": "ISSUED", "due_date": "2026-02-24", "payment_reference": d1.payment_reference,
        "paid_on": None}
    for verb in ("confirm", "dispute"):
        resp = world["guard_api"].post(f"/api/v1/statements/{d0.pk}/{verb}/", {"reason": "x"},
                                       format="json")
        assert resp.status_code == 404, verb
    resp = api.post(f"/api/v1/statements/{d0.pk}/dispute/", {}, format="json")
    assert resp.status_code == 400 and list(resp.json()) == ["reason"]
    resp = api.post(f"/api/v1/statements/{d0.pk}/dispute/", {"reason": "L2 cancelled"},
                    format="json")
    assert resp.status_code == 200
    assert (resp.json()["status"], resp.json()["dispute_reason"]) == ("DISPUTED",
                                                                      "L2 cancelled")
    resp = api.post(f"/api/v1/statements/{d0.pk}/dispute/", {"reason": "again"},
                    format="json")
    assert resp.status_code == 409 and "only an ISSUED statement" in resp.json()["detail"]
    assert api.post(f"/api/v1/statements/{d0.pk}/confirm/").json()["status"] == "CONFIRMED"
    statements.statement_payment_record(reference=d1.payment_reference, value_date=D1,
                                        amount="641.77", source=PaymentSource.STAFF)
    resp = api.post(f"/api/v1/statements/{d1.pk}/confirm/")
    assert resp.status_code == 409 and "is PAID" in resp.json()["detail"]
    got = api.get("/api/v1/statements/", {"business_date": "2026-02-16"}).json()["results"][0]
    assert (got["status"], got["paid_on"]) == ("PAID", str(D1))
    assert date.fromisoformat(got["due_date"]) == date(2026, 2, 24)
