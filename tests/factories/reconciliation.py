"""Reconciliation test data: a platform with booked loans (through `loans_book`), an accepted
balances file and its staged rows (inserted directly, as the intake service would)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from django.utils import timezone

from lending import services
from lending.copyio import copy_rows
from lending.models import Loan, Program, StagedBalance
from partners.models import InboundFile, Partner
from tests.factories import lending as f

DISBURSED = date(2026, 6, 1)


def platform_with_program(code: str = "ALPHA") -> tuple[Partner, Program]:
    platform = f.partner(code)
    version = f.active_agreement(code=f"AG-{code}", platform=platform,
                                 effective_from=date(2024, 1, 1))
    return platform, f.program(code=f"{code}1", version=version,
                               max_principal=Decimal("50000"))


def loans(program: Program, numbers: Iterable[str], *, principal: str = "10000.00",
          disbursed_on: date = DISBURSED, **kw) -> list[Loan]:
    rows = [
        services.LoanToBook(
            partner_id=program.partner_id, loan_no=n, program_id=program.pk,
            borrower_token=services.borrower_token(partner_code="T", borrower_ref=n),
            principal=Decimal(principal), annual_rate=Decimal("0.12"), term_months=12,
            repayment_method="EQUAL_INSTALLMENT", disbursed_on=disbursed_on,
            bank_approval_ref=f"BA-{n}", source_ref=n, **kw,
        )
        for n in numbers
    ]
    result = services.loans_book(loans=rows, booked_on=disbursed_on)
    assert not result.rejected, result.rejected
    return list(Loan.objects.filter(partner_id=program.partner_id,
                                    loan_no__in=[r.loan_no for r in rows]))


def inbound_file(partner: Partner, kind: str, business_date: date, rows: int,
                 *, quarantined: int = 0) -> InboundFile:
    return InboundFile.objects.create(
        partner=partner, partner_code=partner.code, kind=kind, business_date=business_date,
        name=f"{partner.code}_{kind}_{business_date:%Y%m%d}.csv", sha256="0" * 64,
        status="ACCEPTED", rows=rows, staged_count=rows - quarantined,
        quarantined_count=quarantined, channel="COMMAND", received_at=timezone.now(),
    )


# (loan_no, principal, interest, penalty, dpd, status)
BalanceRow = tuple[str, str, str, str, int, str]


def balances_file(partner: Partner, business_date: date, rows: Sequence[BalanceRow],
                  *, status: str = "STAGED") -> InboundFile:
    """An accepted balances file with every row staged (COPY, like intake)."""
    inbound = inbound_file(partner, "balances", business_date, len(rows))
    copy_rows(
        "lending_stagedbalance",
        ("file_id", "row_no", "partner_id", "business_date", "status", "loan_no", "as_of",
         "principal_outstanding", "interest_outstanding", "penalty_outstanding", "dpd",
         "loan_status"),
        ((inbound.pk, i, partner.pk, business_date, status, no, business_date, Decimal(p),
          Decimal(it), Decimal(pn), dpd, st)
         for i, (no, p, it, pn, dpd, st) in enumerate(rows, start=1)),
    )
    return inbound


def staged_balances(partner: Partner, business_date: date) -> list[StagedBalance]:
    return list(StagedBalance.objects.filter(partner=partner, business_date=business_date)
                .order_by("row_no"))
