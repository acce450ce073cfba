"""A partner in a real browser (issue 22): a platform's user logs in on the partner login page,
sees only its own statements, opens one (its total = Σ lines) and the loans behind a line; the
guarantor's user, logged in next, does not see them and gets 404 — not 403 — at the URL of the
platform's statement, so its existence is not told."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from lending.settlement.models import Statement
from partners.models import Partner, PartnerUser
from tests.golden.conftest import golden  # noqa: F401 - the golden world fixture
from tests.golden.helpers import loan_row, pay_row, settle

pytestmark = pytest.mark.django_db(transaction=True)  # the runs commit; the fixture purges

D0, D1 = date(2026, 1, 15), date(2026, 2, 16)
PASSWORD = "partner-pass-1"


def _partner_user(code: str, username: str) -> None:
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    PartnerUser.objects.create(user=user, partner=Partner.objects.get(code=code))


def _log_in(browser, username: str) -> None:
    """Through the partner login form, as a person: type the name and password, submit."""
    browser.driver.delete_all_cookies()
    browser.visit("/reports/partner/login/")
    browser.find("#id_username").send_keys(username)
    browser.find("#id_password").send_keys(PASSWORD)
    browser.submit_and_wait(browser.find("#login-form [type=submit]"))
    browser.wait(lambda d: username in browser.find("#user-tools").text.lower(),
                 f"{username} is not logged in")  # the admin's CSS upper-cases the user tools


def test_a_partner_sees_only_its_own_statements(browser, golden):  # noqa: F811
    settle(D0, loans=[loan_row("L1"), loan_row("L2", principal="5000.00")])
    settle(D1, repayments=[pay_row("T1", "L1", D1, "916.80")])
    own = Statement.objects.get(counterparty__code="ALPHA", business_date=D1)
    _partner_user("ALPHA", "alpha-user")
    _partner_user("GUARD", "guard-user")

    _log_in(browser, "alpha-user")
    browser.click_link("Statements")
    browser.wait_for_text("#content h1", "Statements")
    dates = [r.text.split()[0] for r in browser.find_all("#statements tbody tr.statement")]
    assert dates == ["2026-02-16", "2026-01-15"]
    browser.click_link("2026-02-16")

    browser.wait_for_text("#content h1", "Statement ALPHA 2026-02-16")
    amounts = [Decimal(td.text) for td in browser.find_all("#statement-lines td.amount")]
    assert amounts and sum(amounts) == Decimal(browser.find("#statement-total").text) == \
        own.net_amount
    browser.click_link("COLLECTION_PRINCIPAL")
    browser.wait_for_text("#content h1", "COLLECTION_PRINCIPAL")
    assert browser.find("#drill-total").text == browser.find("#line-amount").text
    row = browser.find("#movements tbody tr")
    assert "L1" in row.text and "T1" in row.text  # the loan and the partner's own txn_no
    browser.log_out()

    _log_in(browser, "guard-user")
    browser.click_link("Statements")
    browser.wait_for_text("#content h1", "Statements")
    assert "ALPHA" not in browser.find("#statements").text
    assert not [r for r in browser.find_all("#statements tbody tr.statement")
                if "2026-02-16" in r.text and str(own.net_amount) in r.text]
    browser.visit(f"/reports/partner/statements/{own.pk}/")
    body = browser.find("body").text
    assert "Not Found" in body, body[:200]
    assert str(own.net_amount) not in body
