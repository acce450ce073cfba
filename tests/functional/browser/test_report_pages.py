"""Staff in a real browser (issue 22): log in, open the morning dashboard, open a partner's
statement from it, drill from a statement line to its movements, to the loan and to a
journal entry the loan's movements were posted in."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from selenium.webdriver.common.by import By

from lending.settlement.models import Statement
from tests.factories import browser as fb
from tests.golden.conftest import golden  # noqa: F401 - the golden world fixture
from tests.golden.helpers import loan_row, pay_row, settle

pytestmark = pytest.mark.django_db(transaction=True)  # the runs commit; the fixture purges

D0, D1 = date(2026, 1, 15), date(2026, 2, 15)


def test_staff_drill_from_the_dashboard_to_a_loan_and_its_journal_entry(browser, golden):  # noqa: F811
    settle(D0, loans=[loan_row("L1"), loan_row("L2", principal="5000.00")])
    settle(D1, repayments=[pay_row("T1", "L1", D1, "916.80")])
    statement = Statement.objects.get(counterparty__code="ALPHA", business_date=D1)
    fb.staff_member("mei")

    browser.log_in("mei", fb.PASSWORD)
    browser.click_link("Morning dashboard")  # from the admin's home
    card = browser.wait_for_text("#partner-ALPHA", "2026-02-15")
    assert card.find_element(By.CSS_SELECTOR, ".run-state").text == "Done"
    assert card.find_element(By.CSS_SELECTOR, ".checks-ok").text == "all hold"
    assert browser.find("#trend-collections svg")
    card.find_element(By.CSS_SELECTOR, "table.statements a").click()

    browser.wait_for_text("#content h1", "Statement ALPHA 2026-02-15")
    amounts = [Decimal(td.text) for td in browser.find_all("#statement-lines td.amount")]
    assert amounts and sum(amounts) == Decimal(browser.find("#statement-total").text) == \
        statement.net_amount
    assert "cash (CASH)" in browser.find("#statement-lines tbody").text
    browser.click_link("COLLECTION_PRINCIPAL")

    browser.wait_for_text("#content h1", "COLLECTION_PRINCIPAL")
    assert browser.find("#drill-total").text == browser.find("#line-amount").text
    row = browser.find("#movements tbody tr")
    assert "T1" in row.text  # the partner's txn_no
    assert browser.find_all("#journal-lines td.entry a")
    row.find_element(By.LINK_TEXT, "L1").click()

    browser.wait_for_text("#content h1", "Loan ALPHA L1")
    assert len(browser.find_all("#schedule tbody tr")) == 12
    assert "T1" in browser.find("#repayments").text
    entry = next(a for a in browser.find_all("#loan-entries tr")
                 if "COLLECT" in a.text).find_element(By.CSS_SELECTOR, "a")
    entry_id = entry.text.lstrip("#")
    entry.click()

    browser.wait_for_text("#content h1", f"Journal entry #{entry_id} COLLECT")
    lines = browser.find_all("#entry-lines tbody tr")
    debits = sum(Decimal(r.find_element(By.CSS_SELECTOR, ".debit").text) for r in lines)
    credits = sum(Decimal(r.find_element(By.CSS_SELECTOR, ".credit").text) for r in lines)
    assert debits == credits > 0
    lines[0].find_element(By.CSS_SELECTOR, "td a").click()  # a line back to its movements
    browser.wait_for_text("#content h1", "its movements")
    assert "L1" in browser.find("#line-movements tbody").text
