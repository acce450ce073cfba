"""The database itself refuses what must never be true (raw SQL, not just the services)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from lending import services
from lending.models import Agreement, AgreementFunder, AgreementVersion
from tests.factories import lending as f

pytestmark = pytest.mark.django_db(transaction=True)


def _insert_loan(program, version, *, loan_no: str, disbursed_on: date, bank_ratio: str) -> None:
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO lending_loan (partner_id, loan_no, program_id, agreement_version_id,
                borrower_token, principal, annual_rate, term_months, repayment_method,
                disbursed_on, bank_approval_ref, bank_ratio, state, dpd, risk_class, accruing,
                principal_outstanding, interest_outstanding, penalty_outstanding,
                compound_outstanding, overpaid_amount, booked_on)
            VALUES (%s, %s, %s, %s, %s, 1000, 0.18, 12, 'EQUAL_INSTALLMENT', %s, 'APR-1', %s,
                'ACTIVE', 0, 'NORMAL', true, 1000, 0, 0, 0, 0, %s)
            """,
            [program.partner_id, loan_no, program.pk, version.pk, "a" * 64, disbursed_on,
             bank_ratio, disbursed_on],
        )


@pytest.fixture
def setup():
    platform = f.partner("ALPHA")
    version = f.active_agreement(code="AG-ALPHA", platform=platform)
    program = f.program(code="CASH", version=version)
    return platform, version, program


def test_funder_ratios_not_summing_to_one_are_rejected_at_commit(setup):
    platform, _, _ = setup
    agreement = Agreement.objects.get(code="AG-ALPHA")
    with pytest.raises(IntegrityError, match="sum to 0.99"):
        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute(
                    "INSERT INTO lending_agreementversion (agreement_id, version, effective_from,"
                    " status, interest_split_rule, penalty_split_rule, service_fee_rate,"
                    " loss_sharing_rule, first_loss_cap_ratio, guarantee_covers_bank_share,"
                    " residual_owner_id, note) VALUES (%s, 9, '2025-01-01', 'DRAFT', 'PRO_RATA',"
                    " 'PRO_RATA', 0, 'PRO_RATA', 0, true, %s, '') RETURNING id",
                    [agreement.pk, platform.pk],
                )
                vid = cur.fetchone()[0]
                cur.execute(
                    "INSERT INTO lending_agreementfunder (version_id, funder_id, principal_ratio)"
                    " VALUES (%s, %s, 0.69), (%s, %s, 0.30)",
                    [vid, f.bank().pk, vid, platform.pk],
                )
    assert not AgreementVersion.objects.filter(agreement=agreement, version=9).exists()


def test_active_version_terms_and_funders_cannot_change(setup):
    _, version, _ = setup
    with pytest.raises(IntegrityError, match="cannot change"):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                "UPDATE lending_agreementversion SET service_fee_rate = 0.05 WHERE id = %s",
                [version.pk],
            )
    with pytest.raises(IntegrityError, match="cannot change"):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                "UPDATE lending_agreementfunder SET principal_ratio = 0.5 WHERE version_id = %s",
                [version.pk],
            )


def test_bank_ratio_above_70pct_rejected_for_loans_from_2022(setup):
    _, version, program = setup
    with pytest.raises(IntegrityError, match="loan_bank_ratio_max_70pct_from_2022"):
        with transaction.atomic():
            _insert_loan(program, version, loan_no="L-NEW", disbursed_on=date(2022, 1, 1),
                         bank_ratio="0.7001")
    # A legacy loan disbursed before 2022 keeps its original ratio (runs off naturally).
    _insert_loan(program, version, loan_no="L-OLD", disbursed_on=date(2021, 12, 31),
                 bank_ratio="0.80")


def test_duplicate_loan_number_for_the_same_partner_rejected(setup):
    _, version, program = setup
    _insert_loan(program, version, loan_no="L-1", disbursed_on=date(2024, 3, 1),
                 bank_ratio="0.70")
    with pytest.raises(IntegrityError, match="loan_no_per_partner"):
        with transaction.atomic():
            _insert_loan(program, version, loan_no="L-1", disbursed_on=date(2024, 3, 2),
                         bank_ratio="0.70")
    # The same number at another partner is a different loan.
    other = f.partner("BETA")
    other_version = f.active_agreement(code="AG-BETA", platform=other)
    other_program = f.program(code="CASH", version=other_version)
    _insert_loan(other_program, other_version, loan_no="L-1", disbursed_on=date(2024, 3, 1),
                 bank_ratio="0.70")


def test_raw_borrower_reference_cannot_be_stored(setup):
    _, version, program = setup
    with pytest.raises(IntegrityError, match="loan_borrower_token_is_hash"):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                "INSERT INTO lending_loan (partner_id, loan_no, program_id, agreement_version_id,"
                " borrower_token, principal, annual_rate, term_months, repayment_method,"
                " disbursed_on, bank_approval_ref, bank_ratio, state, dpd, risk_class, accruing,"
                " principal_outstanding, interest_outstanding, penalty_outstanding,"
                " compound_outstanding, overpaid_amount, booked_on) VALUES (%s, 'L-9', %s, %s,"
                " '110101199003071234', 1000, 0.18, 12, 'EQUAL_INSTALLMENT', '2024-01-01', 'A',"
                " 0.7, 'ACTIVE', 0, 'NORMAL', true, 1000, 0, 0, 0, 0, '2024-01-01')",
                [program.partner_id, program.pk, version.pk],
            )


def test_four_eyes_the_maker_cannot_approve(setup):
    platform, version, _ = setup
    maker = f.user("maker")
    draft = services.agreement_version_draft(
        agreement=version.agreement, effective_from=date(2025, 1, 1),
        funders=[services.FunderTerms(f.bank(), Decimal("0.6")),
                 services.FunderTerms(platform, Decimal("0.4"))],
        created_by=maker,
    )
    with pytest.raises(services.FourEyesError):
        services.agreement_version_approve(version=draft, approved_by=maker)
    # And the database refuses it too, even round the service.
    with pytest.raises(IntegrityError, match="agreement_version_four_eyes"):
        with transaction.atomic():
            AgreementVersion.objects.filter(pk=draft.pk).update(approved_by=maker)


def test_service_refuses_bank_ratio_above_70pct_and_shares_not_summing(setup):
    platform, version, _ = setup
    with pytest.raises(services.AgreementError, match="exceeds 0.70"):
        services.agreement_version_draft(
            agreement=version.agreement, effective_from=date(2025, 1, 1),
            funders=[services.FunderTerms(f.bank(), Decimal("0.75")),
                     services.FunderTerms(platform, Decimal("0.25"))],
            created_by=f.user("maker"),
        )
    with pytest.raises(services.AgreementError, match="sum to 0.9"):
        services.agreement_version_draft(
            agreement=version.agreement, effective_from=date(2025, 1, 1),
            funders=[services.FunderTerms(f.bank(), Decimal("0.6")),
                     services.FunderTerms(platform, Decimal("0.3"))],
            created_by=f.user("maker"),
        )
    assert AgreementFunder.objects.filter(version__agreement=version.agreement).count() == 2


def test_service_refuses_four_funders_and_a_residual_owner_that_funds_nothing(setup):
    """The accrual split's sign guarantee (lending.domain.split.weighted_parts) holds only for
    at most two funders besides the residual owner, which funds a part."""
    platform, version, _ = setup
    others = [f.partner(code, kind="PLATFORM") for code in ("CO1", "CO2")]
    with pytest.raises(services.AgreementError, match="4 funders; at most 3"):
        services.agreement_version_draft(
            agreement=version.agreement, effective_from=date(2025, 1, 1),
            funders=[services.FunderTerms(f.bank(), Decimal("0.4")),
                     services.FunderTerms(others[0], Decimal("0.2")),
                     services.FunderTerms(others[1], Decimal("0.1")),
                     services.FunderTerms(platform, Decimal("0.3"))],
            created_by=f.user("maker"),
        )
    with pytest.raises(services.AgreementError, match="must fund a part of each loan"):
        services.agreement_version_draft(
            agreement=version.agreement, effective_from=date(2021, 1, 1),
            funders=[services.FunderTerms(f.bank(), Decimal("0.8")),
                     services.FunderTerms(others[0], Decimal("0.2")),
                     services.FunderTerms(platform, Decimal("0"))],
            created_by=f.user("maker"),
        )
    three = services.agreement_version_draft(
        agreement=version.agreement, effective_from=date(2025, 1, 1),
        funders=[services.FunderTerms(f.bank(), Decimal("0.5")),
                 services.FunderTerms(others[0], Decimal("0.2")),
                 services.FunderTerms(platform, Decimal("0.3"))],
        created_by=f.user("maker"),
    )
    assert three.funders.count() == 3


def test_a_negative_advance_is_refused(setup):
    _platform, version, program = setup
    _insert_loan(program, version, loan_no="N1", disbursed_on=date(2026, 1, 15),
                 bank_ratio="0.70")
    with pytest.raises(IntegrityError, match="loan_overpaid_not_negative"):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("UPDATE lending_loan SET overpaid_amount = -500 WHERE loan_no = 'N1'")
