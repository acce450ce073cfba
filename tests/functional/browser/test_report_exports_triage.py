"""Staff in a real browser (issue 22): download the XLSX of a statement from its page and find
the page's lines and total in it (re-read with openpyxl); resolve a break on the breaks list
with a note, then find it resolved with the note, who and when."""

from __future__ import annotations

import base64
import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from lending.reconciliation.models import Break
from lending.settlement.models import Statement
from partners.models import Partner
from tests.factories import browser as fb
from tests.golden.conftest import golden  # noqa: F401 - the golden world fixture
from tests.golden.helpers import loan_row, pay_row, settle

pytestmark = pytest.mark.django_db(transaction=True)  # the runs commit; the fixture purges

D0, D1 = date(2026, 1, 15), date(2026, 2, 16)

# Fetch a download in the page, with the page's session, as base64 (Selenium has no download
# API; the file is what the link gives the person clicking it).
FETCH = """
const done = arguments[arguments.length - 1];
fetch(arguments[0], {credentials: 'same-origin'})
  .then(r => r.arrayBuffer())
  .then(b => { const a = new Uint8Array(b); let s = '';
               for (let i = 0; i < a.length; i++) s += String.fromCharCode(a[i]);
               done(btoa(s)); })
  .catch(e => done('ERROR ' + e));
"""


def test_statement_xlsx_from_the_page_has_the_pages_totals(browser, golden):  # noqa: F811
    settle(D0, loans=[loan_row("L1"), loan_row("L2", principal="5000.00")])
    settle(D1, repayments=[pay_row("T1", "L1", D1, "916.80")])
    st = Statement.objects.get(counterparty__code="ALPHA", business_date=D1)
    fb.staff_member("mei")
    browser.log_in("mei", fb.PASSWORD)
    browser.visit(f"/reports/statements/{st.pk}/")
    browser.wait_for_text("#content h1", "Statement ALPHA 2026-02-16")
    page_lines = [(r.find_element("css selector", ".line-type").text,
                   Decimal(r.find_element("css selector", ".amount").text))
                  for r in browser.find_all("#statement-lines tr.statement-line")]
    page_total = Decimal(browser.find("#statement-total").text)
    href = browser.find("#statement-xlsx").get_attribute("href")
    data = browser.driver.execute_async_script(FETCH, href)
    assert not data.startswith("ERROR"), data
    ws = load_workbook(io.BytesIO(base64.b64decode(data))).worksheets[0]
    header, *rows = [[c.value for c in r] for r in ws.iter_rows()]
    amount, kind = header.index("amount"), header.index("line_type")
    *lines, total = rows
    got = [(r[kind], Decimal(str(r[amount])).quantize(Decimal("0.01"))) for r in lines]
    assert got == page_lines and page_lines
    assert total[kind] == "TOTAL"
    assert Decimal(str(total[amount])).quantize(Decimal("0.01")) == page_total == \
        sum(a for _, a in page_lines) == st.net_amount


def test_staff_resolve_a_break_with_a_note(browser, db):
    alpha = Partner.objects.create(code="ALPHA", legal_name="Alpha", kind="PLATFORM")
    brk = Break.objects.create(partner=alpha, loan_no="L7", kind="DPD_MISMATCH",
                               business_date=D0, last_seen_on=D1, ours="0", theirs="3")
    fb.staff_member("mei")
    browser.log_in("mei", fb.PASSWORD)
    browser.visit("/reports/breaks/")
    row = browser.find(f"#break-{brk.pk}")
    row.find_element("css selector", "input.tick").click()
    browser.find("#triage-resolve").click()
    browser.find("#triage_note").send_keys("their file was a day late")
    browser.submit_and_wait(browser.find("#triage-apply"))
    browser.wait_for_text(".messagelist", "1 break(s) resolved.")
    assert not browser.find_all(f"#break-{brk.pk}")  # open breaks only, by default
    browser.visit("/reports/breaks/?status=RESOLVED")
    resolution = browser.find(f"#break-{brk.pk} .resolution").text
    assert "their file was a day late" in resolution and "mei" in resolution
    brk.refresh_from_db()
    assert (brk.status, brk.resolution_note, brk.resolved_by.username) == \
        ("RESOLVED", "their file was a day late", "mei")
