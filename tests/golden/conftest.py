"""Golden settlement days: partner files in, postings, balances and statements out."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ledger.services import chart_of_accounts_load
from lending import services
from lending.models import Agreement
from tests.factories import lending as f


@pytest.fixture
def golden(db):
    """ALPHA (platform) with GUARD (licensed guarantor): 70/30, claim at DPD 80."""
    chart_of_accounts_load()
    platform = f.partner("ALPHA")
    guarantor = f.partner("GUARD", kind="GUARANTOR")
    agreement = services.agreement_create(code="AG-G", name="golden", platform=platform,
                                          guarantor=guarantor)
    version = services.agreement_version_draft(
        agreement=agreement, effective_from=date(2020, 1, 1),
        funders=[services.FunderTerms(f.bank(), Decimal("0.70")),
                 services.FunderTerms(platform, Decimal("0.30"))],
        created_by=f.user("maker"))
    services.agreement_version_approve(version=version, approved_by=f.approver("checker"))
    program = services.program_create(
        partner=platform, agreement=Agreement.objects.get(code="AG-G"), code="CASH",
        name="cash", repayment_methods=["EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL",
                                        "INTEREST_FIRST", "DAILY"],
        max_annual_rate=Decimal("0.24"), claim_trigger_dpd=80, write_off_dpd=None)
    return {"platform": platform, "guarantor": guarantor, "program": program}
