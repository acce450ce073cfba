"""Agreement versions on the staff pages: ACTIVE terms are read-only; four eyes approve a draft."""

from __future__ import annotations

from datetime import date

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from lending.models import AgreementVersion
from tests.factories import browser as fb
from tests.factories import lending as f

pytestmark = pytest.mark.django_db(transaction=True)


def _version_row(browser, version: int):
    """The agreement versions list's row of version number `version`."""
    browser.wait_for_text("#result_list", "AG-ALPHA")
    rows = [r for r in browser.find_all("#result_list tbody tr")
            if r.find_element(By.CSS_SELECTOR, ".field-version").text == str(version)]
    assert len(rows) == 1, [r.text for r in browser.find_all("#result_list tbody tr")]
    return rows[0]


def _status(row) -> str:
    return row.find_element(By.CSS_SELECTOR, ".field-status").text


def _approve_pending_with_the_action(browser) -> None:
    browser.visit("/admin/")
    browser.click_link("Agreement versions")
    row = _version_row(browser, 2)
    assert _status(row) == "Pending approval"
    row.find_element(
        By.CSS_SELECTOR, "input.action-select").click()
    Select(browser.find("select[name=action]")).select_by_visible_text(
        "Approve selected versions (second person, four eyes)")
    browser.submit_and_wait(browser.find("#changelist-form button[name=index]"))


def test_active_version_is_shown_read_only(browser):
    platform = f.partner("ALPHA")
    f.active_agreement(code="AG-ALPHA", platform=platform, service_fee_rate="0.012")
    fb.staff_member("mei")

    browser.log_in("mei", fb.PASSWORD)
    browser.click_link("Agreement versions")
    row = _version_row(browser, 1)
    assert _status(row) == "Active"
    row.find_element(By.CSS_SELECTOR, "th a").click()
    browser.wait_for_text("#content h2", "AG-ALPHA v1")

    form = browser.find("#agreementversion_form")
    assert "0.012" in form.find_element(By.CSS_SELECTOR, ".field-service_fee_rate").text
    editable = [e.get_attribute("name") for e in form.find_elements(
        By.CSS_SELECTOR, "input, select, textarea")
        if e.is_displayed() and e.get_attribute("type") != "submit"]
    assert editable == []  # terms and funders are shown as text, not as inputs
    funders = browser.find("#funders-group").text
    assert "BANK" in funders and "0.7" in funders and "ALPHA" in funders and "0.3" in funders


def test_maker_cannot_approve_own_version_and_a_second_person_can(browser):
    platform = f.partner("ALPHA")
    active = f.active_agreement(code="AG-ALPHA", platform=platform)
    maker, checker = fb.staff_member("mei"), fb.staff_member("chen")
    pending = fb.pending_version(agreement=active.agreement, maker=maker,
                                 effective_from=date(2025, 1, 1))

    browser.log_in("mei", fb.PASSWORD)
    _approve_pending_with_the_action(browser)
    error = browser.wait_for_text(".messagelist .error", "another person must approve")
    assert "AG-ALPHA v2" in error.text
    assert _status(_version_row(browser, 2)) == "Pending approval"  # still waiting
    browser.log_out()

    browser.log_in("chen", fb.PASSWORD)
    _approve_pending_with_the_action(browser)
    browser.wait_for_text(".messagelist .success", "AG-ALPHA v2 approved and active.")
    assert not browser.find_all(".messagelist .error")
    row = _version_row(browser, 2)
    assert _status(row) == "Active"
    assert row.find_element(By.CSS_SELECTOR, ".field-approved_by").text == "chen"

    pending.refresh_from_db()
    assert pending.status == "ACTIVE" and pending.approved_by == checker
    assert AgreementVersion.objects.get(pk=active.pk).effective_to == date(2025, 1, 1)
