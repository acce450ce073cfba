"""A guarantor that serves two platforms (DOMAIN.md §8.10, issue 20 defect C).

GUARD guarantees the bank's share on ALPHA (AG-G) and on BETA (AG-GB), both 70/30 with a
claim at DPD 80. Each platform has the golden 10,000.00 / 18 % / 12-month loan L1 (BETA's is
B1) whose borrower pays periods 1–2 and stops; on 07-04 both reach DPD 80 and a claim of
6,159.75 each is raised (bank principal 5,918.43 + the bank's 70 % of periods 3–5 interest
241.32, see test_golden_claims), and on 07-06 GUARD pays both claims.

GUARD gets one statement per platform and day — ALPHA's run writes ALPHA's, BETA's run writes
BETA's — each +6,159.75 (GUARD pays the bank), and a day total of 12,319.50 across them. Before
the fix the statement was keyed by (counterparty, day): BETA's run overwrote ALPHA's, which
then failed statements_tie, and every later day of that platform waited.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from ledger import checks
from lending import services
from lending.models import Agreement, Claim, Statement
from lending.settlement import runner
from lending.settlement.selectors import statement_day_totals
from partners.models import Partner
from tests.factories import lending as f
from tests.golden.helpers import deliver_and_settle, loan_row, pay_row

pytestmark = pytest.mark.django_db

TRIGGER, PAID = date(2026, 7, 4), date(2026, 7, 6)
CLAIM = D("6159.75")


@pytest.fixture
def beta(golden):
    platform = f.partner("BETA")
    agreement = services.agreement_create(code="AG-GB", name="golden beta", platform=platform,
                                          guarantor=golden["guarantor"])
    version = services.agreement_version_draft(
        agreement=agreement, effective_from=date(2020, 1, 1),
        funders=[services.FunderTerms(f.bank(), D("0.70")),
                 services.FunderTerms(platform, D("0.30"))],
        created_by=f.user("maker"))
    services.agreement_version_approve(version=version, approved_by=f.approver("checker"))
    services.program_create(
        partner=platform, agreement=Agreement.objects.get(code="AG-GB"), code="CASH",
        name="cash", repayment_methods=["EQUAL_INSTALLMENT"], max_annual_rate=D("0.24"),
        claim_trigger_dpd=80, write_off_dpd=None)
    return platform


def both(day: date, alpha: dict | None = None, beta: dict | None = None) -> None:
    deliver_and_settle("ALPHA", day, **(alpha or {}))
    deliver_and_settle("BETA", day, **(beta or {}))


def guard_statements(day: date) -> dict[str, tuple]:
    return {st.run.partner.code: (st.net_amount, {ln.line_type: ln.amount
                                                   for ln in st.lines.all()})
            for st in Statement.objects.filter(counterparty__code="GUARD", business_date=day)
            .select_related("run__partner")}


def test_one_statement_per_platform_and_day_and_a_day_total(golden, beta):
    both(date(2026, 1, 15), {"loans": [loan_row("L1")]}, {"loans": [loan_row("B1")]})
    for n, day in enumerate((date(2026, 2, 15), date(2026, 3, 15)), start=1):
        both(day, {"repayments": [pay_row(f"TA{n}", "L1", day, "916.80")]},
             {"repayments": [pay_row(f"TB{n}", "B1", day, "916.80")]})
    for day in (date(2026, 4, 15), date(2026, 5, 15), date(2026, 6, 15), TRIGGER):
        both(day)
    assert sorted(Claim.objects.values_list("loan__loan_no", "amount")) == [
        ("B1", CLAIM), ("L1", CLAIM)]

    both(PAID, {"repayments": [pay_row("GA", "L1", PAID, str(CLAIM), payer="GUARANTOR")]},
         {"repayments": [pay_row("GB", "B1", PAID, str(CLAIM), payer="GUARANTOR")]})

    assert guard_statements(PAID) == {
        "ALPHA": (CLAIM, {"CLAIM_PAYMENT": CLAIM}),
        "BETA": (CLAIM, {"CLAIM_PAYMENT": CLAIM}),
    }
    guard = Partner.objects.get(code="GUARD")
    assert statement_day_totals(counterparty=guard, business_date=PAID) == {
        "ALPHA": CLAIM, "BETA": CLAIM, "TOTAL": D("12319.50")}
    assert checks.run_checks() == []

    # Settling ALPHA's day again rewrites ALPHA's statements only: BETA's stays as it was.
    beta_statement = Statement.objects.get(counterparty=guard, run__partner__code="BETA",
                                           business_date=PAID)
    beta_lines = list(beta_statement.lines.values_list("pk", "line_type", "amount"))
    run = runner.settlement_run(partner=Partner.objects.get(code="ALPHA"), business_date=PAID)
    assert run.state == "DONE", run.error
    beta_statement.refresh_from_db()
    assert list(beta_statement.lines.values_list("pk", "line_type", "amount")) == beta_lines
    assert guard_statements(PAID)["BETA"] == (CLAIM, {"CLAIM_PAYMENT": CLAIM})
    assert checks.run_checks() == []
