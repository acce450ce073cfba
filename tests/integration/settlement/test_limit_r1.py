"""Issue 21, regulatory limits — R1, the partner's share of each loan (DOMAIN §1.2): from
2022-01-01 the partner funds at least 30 % (the bank's ratio at most 0.70), the threshold and
its effective date defined once in lending.domain.rules. Data on both sides of each threshold
(the ratio and the date) at booking, and in a run: the breach is quarantined and raised as an
alert shown on the run list; a partner exactly at the threshold raises none."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from lending import services
from lending.domain.rules import MAX_BANK_RATIO, RATIO_RULE_FROM
from lending.models import Loan
from lending.settlement import runner
from lending.settlement.models import Alert, RunState
from partners.models import Partner, QuarantinedRow
from tests.factories import lending as f
from tests.factories import operations as ops

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 2)
LAST_DAY_BEFORE = date(2021, 12, 31)


def _legacy_program(code: str, bank_ratio: Decimal):
    """A platform whose agreement (effective 2019, before the rule) gives the bank `bank_ratio`."""
    platform = f.partner(code)
    version = f.active_agreement(code=f"AG-{code}", platform=platform, bank_ratio=bank_ratio,
                                 effective_from=date(2019, 1, 1))
    return f.program(code=f"P-{code}", version=version,
                     repayment_methods=["EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL"],
                     min_annual_rate=Decimal("0.10"), max_annual_rate=Decimal("0.24"),
                     max_principal=Decimal("50000"), max_term_months=24)


def _loan(program, loan_no: str, disbursed_on: date) -> services.LoanToBook:
    return services.LoanToBook(
        partner_id=program.partner_id, loan_no=loan_no, program_id=program.pk,
        borrower_token=services.borrower_token(partner_code="X", borrower_ref=loan_no),
        principal=Decimal("10000.00"), annual_rate=Decimal("0.18"), term_months=12,
        repayment_method="EQUAL_INSTALLMENT", disbursed_on=disbursed_on,
        bank_approval_ref=f"BA-{loan_no}", source_ref=loan_no)


@pytest.mark.parametrize(("bank_ratio", "booked"), [
    (MAX_BANK_RATIO, {"AT-OLD", "AT-NEW"}),                 # at the threshold: allowed
    (MAX_BANK_RATIO + Decimal("0.00000001"), {"AT-OLD"}),   # just above: only before the date
])
def test_booking_on_both_sides_of_the_ratio_and_the_date(bank_ratio, booked):
    assert (MAX_BANK_RATIO, RATIO_RULE_FROM) == (Decimal("0.70"), date(2022, 1, 1))
    program = _legacy_program("EDGE", bank_ratio)
    result = services.loans_book(loans=[_loan(program, "AT-OLD", LAST_DAY_BEFORE),
                                        _loan(program, "AT-NEW", RATIO_RULE_FROM)],
                                 booked_on=RATIO_RULE_FROM)
    assert set(Loan.objects.values_list("loan_no", flat=True)) == booked
    rejected = {(r.loan_no, r.reason, r.column) for r in result.rejected}
    assert rejected == ({("AT-NEW", "LIMIT_EXCEEDED", "disbursed_on")}
                        if len(booked) == 1 else set())
    for r in result.rejected:
        assert r.message == "bank ratio 0.70000001 exceeds 0.70 (not allowed from 2022-01-01)"


def _deliver_day(code: str, loans: list[tuple]) -> None:
    files = ops.build(code, DAY, {"loans": loans, "repayments": [], "reversals": [],
                                  "balances": []})
    for kind in ops.KINDS:
        assert ops.deliver(*files[kind])["status"] == "ACCEPTED"


def test_a_run_alerts_on_r1_breaches_and_the_run_list_shows_it():
    ops.world_setup()  # OPA's agreement: bank ratio 0.70, exactly at the threshold
    _legacy_program("OLDP", Decimal("0.80"))
    _deliver_day("OPA", ops._loans("OPA", DAY, random.Random(1), 2))
    _deliver_day("OLDP", [
        ("OLDP-1", "P-OLDP", "U1", "12000.00", "0.18", 12, "EQUAL_INSTALLMENT",
         DAY.isoformat(), "", "APR-OLDP-1"),
        ("OLDP-2", "P-OLDP", "U2", "3000.50", "0.12", 6, "EQUAL_PRINCIPAL",
         DAY.isoformat(), "", "APR-OLDP-2"),
    ])

    runs = {code: runner.settlement_run(partner=Partner.objects.get(code=code),
                                        business_date=DAY) for code in ("OPA", "OLDP")}

    for run in runs.values():
        assert (run.state, run.error) == (RunState.DONE, "")
    r1 = {code: {k: v for k, v in run.totals["limits"].items() if k.startswith("r1_")}
          for code, run in runs.items()}  # R2-R5: tests/integration/controls/test_limits.py
    assert r1["OPA"] == {"r1_loans": 0, "r1_principal": "0.00"}
    assert r1["OLDP"] == {"r1_loans": 2, "r1_principal": "15000.50"}
    assert Loan.objects.filter(partner__code="OPA").count() == 2
    assert not Loan.objects.filter(partner__code="OLDP").exists()
    assert QuarantinedRow.objects.filter(partner__code="OLDP", reason="LIMIT_EXCEEDED",
                                         column="disbursed_on").count() == 2
    alert = Alert.objects.get()  # one, for OLDP; none for OPA at the threshold
    assert (alert.reason, alert.partner.code, alert.run) == ("LIMIT_BREACH", "OLDP",
                                                             runs["OLDP"])
    assert "2 loan(s), principal 15000.50, refused by R1" in alert.message
    assert "at least 30% of each loan disbursed from 2022-01-01" in alert.message

    again = runner.settlement_run(partner=Partner.objects.get(code="OLDP"), business_date=DAY)
    assert again.state == RunState.DONE and Alert.objects.count() == 1  # never twice

    staff = get_user_model().objects.create_superuser("ops-lead", password="pw-123456789-x")
    client = Client()
    client.force_login(staff)
    body = client.get(reverse("admin:lending_settlementrun_changelist")).content.decode()
    assert "ALERT Regulatory limit breached: OLDP 2026-11-02: 2 loan(s)" in body
