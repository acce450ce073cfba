"""Data for the real-browser tests of the staff pages, built through the project's services."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model

from ledger.services import chart_of_accounts_load
from lending import services
from lending.intake.writer import partner_files_import
from lending.models import AgreementVersion, Loan
from lending.settlement import runner
from lending.settlement.models import SettlementRun
from partners.models import Partner
from tests.factories import lending as f

PASSWORD = "staff-pass-1"


def staff_member(username: str, password: str = PASSWORD):
    """A staff superuser who can log in through the admin login form."""
    return get_user_model().objects.create_superuser(
        username=username, email=f"{username}@example.test", password=password
    )


def loans_booked(*loan_nos: str) -> list[Loan]:
    """ALPHA's 10,000.00 loans at 18 % over 12 equal instalments, funded 70/30 with the bank."""
    platform = f.partner("ALPHA")
    version = f.active_agreement(code="AG-ALPHA", platform=platform)
    program = f.program(code="CASH", version=version)
    services.loans_book(
        loans=[services.LoanToBook(
            partner_id=platform.pk, loan_no=loan_no, program_id=program.pk,
            borrower_token=f"{n:064x}", principal=Decimal("10000.00"),
            annual_rate=Decimal("0.18"), term_months=12, repayment_method="EQUAL_INSTALLMENT",
            disbursed_on=date(2024, 3, 1), bank_approval_ref=f"BA-{loan_no}")
            for n, loan_no in enumerate(loan_nos, start=1)],
        booked_on=date(2024, 3, 1),
    )
    return list(Loan.objects.filter(loan_no__in=loan_nos).order_by("loan_no"))


def pending_version(*, agreement, maker, effective_from: date) -> AgreementVersion:
    """A new version of the agreement drafted by `maker`, waiting for a second person."""
    return services.agreement_version_draft(
        agreement=agreement, effective_from=effective_from,
        funders=[services.FunderTerms(f.bank(), Decimal("0.60")),
                 services.FunderTerms(agreement.platform, Decimal("0.40"))],
        created_by=maker)


def settled_day(day: date) -> SettlementRun:
    """ALPHA (70/30 with the bank) delivers two new loans for `day`; the day is settled."""
    chart_of_accounts_load()
    platform = f.partner("ALPHA")
    version = f.active_agreement(code="AG-ALPHA", platform=platform,
                                 effective_from=date(2020, 1, 1))
    f.program(code="CASH", version=version)
    loans = [
        (no, "CASH", f"ref-{no}", principal, "0.18", 12, "EQUAL_INSTALLMENT", day.isoformat(),
         "", f"BA-{no}")
        for no, principal in (("LN-DAY-1", "10000.00"), ("LN-DAY-2", "4000.00"))
    ]
    for kind, result in partner_files_import(partner="ALPHA", business_date=day,
                                             files={"loans": loans}).items():
        assert result["status"] == "ACCEPTED", (kind, result)
    run = runner.settlement_run(partner=Partner.objects.get(code="ALPHA"), business_date=day)
    assert run.state == "DONE", (run.state, run.error)
    return run
