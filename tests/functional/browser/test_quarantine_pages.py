"""The quarantine in a real browser (issue 22, acceptance 1): an operator finds a quarantined
payment, corrects it on its correction form and submits it; the correction waits for a second
person (pending approval, nothing staged); an approver approves it on the corrections list and
it is staged for the next open run, the original row kept as sent.

Platform OPA (tests/factories/operations.py): Friday 2026-11-06 settled, then Monday 11-09's
files with a repayment XTYPO for a loan number nobody has (quarantined by the run,
UNKNOWN_LOAN) and Monday settled, so the correction goes to Tuesday's run, dated Tuesday."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from controls.models import ChangeRequest
from controls.roles import APPROVER, OPERATOR, roles_sync
from lending.intake.models import QuarantineCorrection, StagedRepayment
from lending.models import Loan
from lending.settlement import runner
from partners.models import Partner, QuarantinedRow
from tests.factories import operations as ops
from tests.functional.controls.helpers import PASSWORD, role_user

pytestmark = pytest.mark.django_db(transaction=True)  # the runs commit; the fixture purges

CODE = "OPA"
FRI, MON, TUE = date(2026, 11, 6), date(2026, 11, 9), date(2026, 11, 10)


def _settle(day: date) -> None:
    run = runner.settlement_run(partner=Partner.objects.get(code=CODE), business_date=day)
    assert (run.state, run.error) == ("DONE", ""), run.totals.get("check_problems")


def _deliver(rows: dict) -> None:
    for kind, built in ops.build(CODE, rows["day"], rows["files"]).items():
        assert ops.deliver(*built)["status"] == "ACCEPTED", kind


def _quarantined_typo() -> tuple[Loan, QuarantinedRow]:
    ops.world_setup()
    _deliver({"day": FRI, "files": ops.day_files(CODE, FRI, random.Random("qb:fri"))})
    _settle(FRI)
    loan = Loan.objects.filter(partner__code=CODE, state="ACTIVE").order_by("pk").first()
    files = ops.day_files(CODE, MON, random.Random("qb:mon"))
    files["repayments"] = [r for r in files["repayments"] if r[1] != loan.loan_no] + [
        ("XTYPO", loan.loan_no + "Z", MON, "100.00", "BORROWER", "PREPAYMENT")]
    _deliver({"day": MON, "files": files})
    _settle(MON)
    return loan, QuarantinedRow.objects.get(raw__startswith="XTYPO,")


def _type(browser, css: str, text: str) -> None:
    field = browser.find(css)
    field.clear()
    field.send_keys(text)


def _correction_row(browser, corr: QuarantineCorrection):
    name = f"{corr} "  # "correction #<id> of quarantined row <id>"
    browser.wait_for_text("#result_list", name)
    (row,) = [r for r in browser.find_all("#result_list tbody tr") if name in r.text + " "]
    return row


def test_an_operator_corrects_a_quarantined_payment_and_an_approver_approves_it(browser):
    loan, typo = _quarantined_typo()
    assert (typo.stage, typo.reason) == ("APPLY", "UNKNOWN_LOAN")
    roles_sync()
    role_user("olga", OPERATOR)
    checker = role_user("chen", APPROVER)

    # the operator finds the row in the quarantine and opens its correction form
    browser.log_in("olga", PASSWORD)
    browser.visit("/admin/partners/quarantinedrow/")
    _type(browser, "#searchbar", "XTYPO")
    browser.submit_and_wait(browser.find("#changelist-search [type=submit]"))
    browser.wait_for_text("#result_list", "Unknown loan")
    (row,) = browser.find_all("#result_list tbody tr")
    assert row.find_element(By.CSS_SELECTOR, ".field-stage").text == "Apply (settlement run)"
    row.find_element(By.LINK_TEXT, "correct").click()
    browser.wait_for_text("#content h1", "Correct a quarantined row")
    assert browser.find("#raw").text == typo.raw  # as sent, shown beside the form
    assert browser.find("#id_col_loan_no").get_attribute("value") == loan.loan_no + "Z"
    _type(browser, "#id_col_txn_no", "XTYPO-C1")
    _type(browser, "#id_col_loan_no", loan.loan_no)
    _type(browser, "#id_col_paid_on", TUE.isoformat())
    _type(browser, "#id_note", "platform ticket 4711: loan number mistyped")
    browser.submit_and_wait(browser.find("form [type=submit][value='Submit for approval']"))

    message = browser.wait_for_text(".messagelist .success", "submitted: change request #")
    corr = QuarantineCorrection.objects.get(quarantined=typo)
    assert f"#{corr.request_id}" in message.text
    row = _correction_row(browser, corr)
    assert row.find_element(By.CSS_SELECTOR, ".field-status").text == \
        "Pending approval (four eyes)"
    assert not StagedRepayment.objects.filter(txn_no="XTYPO-C1").exists()  # nothing yet
    assert ChangeRequest.objects.get(pk=corr.request_id).status == "PENDING_APPROVAL"
    # the operator has no approver role: the list offers no approval
    assert "Approve the selected corrections" not in browser.driver.page_source
    browser.log_out()

    # the approver approves it on the corrections list
    browser.log_in("chen", PASSWORD)
    browser.visit("/admin/lending/quarantinecorrection/")
    _correction_row(browser, corr).find_element(By.CSS_SELECTOR, "input.action-select").click()
    Select(browser.find("select[name=action]")).select_by_visible_text(
        "Approve the selected corrections (a second person)")
    browser.submit_and_wait(browser.find("#changelist-form button[name=index]"))
    messages = browser.find(".messagelist").text  # the admin's CSS capitalises a message
    assert f"{corr}: staged for the run of {CODE} {TUE}".lower() in messages.lower(), \
        messages
    assert not browser.find_all(".messagelist .error")
    assert _correction_row(browser, corr).find_element(By.CSS_SELECTOR, ".field-status").text == \
        "Staged for the run of its business date"

    corr.refresh_from_db()
    staged = StagedRepayment.objects.get(pk=corr.staged_id)
    assert (corr.status, corr.approved_by, corr.business_date) == ("QUEUED", checker, TUE)
    assert (staged.loan_no, staged.amount, staged.status, staged.business_date) == (
        loan.loan_no, Decimal("100.00"), "STAGED", TUE)
    assert QuarantinedRow.objects.get(pk=typo.pk).raw == typo.raw  # the original as sent
