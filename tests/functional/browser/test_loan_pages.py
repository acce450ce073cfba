"""Staff log in, find a loan by its number and read its funder shares and its schedule."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.factories import browser as fb

pytestmark = pytest.mark.django_db(transaction=True)


def test_staff_logs_in_finds_a_loan_and_reads_its_shares_and_schedule(browser):
    fb.loans_booked("LN-BROWSER-1", "LN-BROWSER-2")  # the second is for the search to leave out
    fb.staff_member("mei")

    browser.log_in("mei", fb.PASSWORD)
    browser.click_link("Loans")
    browser.wait_for_text("#result_list", "LN-BROWSER-2")
    search = browser.find("#searchbar")
    search.send_keys("LN-BROWSER-1")
    browser.submit_and_wait(browser.find("#changelist-search [type=submit]"))
    results = browser.wait_for_text("#result_list", "LN-BROWSER-1")
    assert "LN-BROWSER-2" not in results.text

    browser.click_link("LN-BROWSER-1")
    browser.wait_for_text("#content h2", "LN-BROWSER-1")
    shares = {
        row.find_element(By.CSS_SELECTOR, ".field-funder").text.split()[0]:
            row.find_element(By.CSS_SELECTOR, ".field-funded_principal").text
        for row in browser.find_all("#shares-group tr.has_original")
    }
    assert shares == {"BANK": "7000.00", "ALPHA": "3000.00"}

    schedule = browser.find_all("#installments-group tr.has_original")
    assert [row.find_element(By.CSS_SELECTOR, ".field-seq").text for row in schedule] == [
        str(seq) for seq in range(1, 13)]
    first = schedule[0]
    assert first.find_element(By.CSS_SELECTOR, ".field-due_on").text  # a due date is shown
    assert first.find_element(By.CSS_SELECTOR, ".field-principal_due").text == "766.80"
    assert first.find_element(By.CSS_SELECTOR, ".field-interest_due").text == "150.00"
