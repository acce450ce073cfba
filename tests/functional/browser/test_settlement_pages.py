"""After a settled day: the runs list and the run page show it DONE with its chunks, and the
trial balance of BANK_GL shows debits equal to credits."""

from __future__ import annotations

from datetime import date

import pytest
from selenium.webdriver.common.by import By

from tests.factories import browser as fb

pytestmark = pytest.mark.django_db(transaction=True)  # the run commits; the fixture purges

DAY = date(2026, 1, 15)


def test_staff_see_a_settled_run_and_a_balanced_trial_balance(browser):
    run = fb.settled_day(DAY)
    chunks = run.chunks.count()
    assert chunks > 0
    fb.staff_member("mei")

    browser.log_in("mei", fb.PASSWORD)
    browser.click_link("Settlement runs")
    results = browser.wait_for_text("#result_list", "ALPHA")
    row = results.find_element(By.CSS_SELECTOR, "tbody tr")
    assert row.find_element(By.CSS_SELECTOR, ".field-state").text == "Done"
    assert row.find_element(By.CSS_SELECTOR, ".field-chunk_progress").text == (
        f"{chunks}/{chunks}")

    row.find_element(By.CSS_SELECTOR, "th a").click()
    browser.wait_for_text("#content h2", "ALPHA 2026-01-15 DONE")
    assert browser.find("#content .field-state .readonly").text == "Done"
    chunk_rows = browser.find_all("#chunks-group tr.has_original")
    assert len(chunk_rows) == chunks
    for chunk in chunk_rows:
        assert chunk.find_element(By.CSS_SELECTOR, ".field-step").text in {"BOOK", "APPLY"}
        assert chunk.find_element(By.CSS_SELECTOR, ".field-done_at").text not in {"", "-"}

    browser.visit("/admin/")
    browser.click_link("Books")
    book = browser.wait_for_text("#result_list", "BANK_GL")
    book_row = next(r for r in book.find_elements(By.CSS_SELECTOR, "tbody tr")
                    if r.find_element(By.CSS_SELECTOR, "th").text == "BANK_GL")
    book_row.find_element(By.LINK_TEXT, "trial balance").click()
    browser.wait_for_text("#content h1", "Trial balance BANK_GL")
    accounts = {r.find_elements(By.CSS_SELECTOR, "td")[1].text:
                tuple(c.text for c in r.find_elements(By.CSS_SELECTOR, "td")[5:])
                for r in browser.find_all("#trial-balance tbody tr")}
    assert accounts["LOANS_RECEIVABLE"] == ("9800.00", "0.00")  # the bank's 70 % of 14,000.00
    totals = browser.find_all("#trial-balance tfoot tr")
    assert totals, "no totals line"
    for total in totals:
        _, currency, debit, credit = [c.text for c in total.find_elements(By.CSS_SELECTOR, "th")]
        assert debit == credit and float(debit) > 0, (currency, debit, credit)
    assert browser.find("#tb-status").text == "Debits equal credits."
