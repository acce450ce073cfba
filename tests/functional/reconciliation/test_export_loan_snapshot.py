"""manage.py export_loan_snapshot: the bank's end-of-day view of every loan, streamed as CSV."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from lending.models import Loan
from lending.reconciliation import selectors
from tests.factories import lending as f
from tests.factories import reconciliation as rf

pytestmark = pytest.mark.django_db

D = date(2026, 6, 16)  # 15/30 of the first period: interest 50.00 on a 10,000.00 loan at 12 %


@pytest.fixture
def two_partners():
    alpha, alpha_program = rf.platform_with_program("ALPHA")
    beta, beta_program = rf.platform_with_program("BETA")
    rf.loans(alpha_program, ["A2", "A1"])
    rf.loans(beta_program, ["B1"], principal="333.33")
    rf.loans(alpha_program, ["LATER"], disbursed_on=date(2026, 7, 1))  # booked after D
    Loan.objects.filter(loan_no="A2").update(dpd=4, state="OVERDUE", risk_class="SPECIAL_MENTION",
                                             penalty_base=Decimal("1000.00"),
                                             penalty_from=date(2026, 6, 10))
    return alpha, beta


def _run(*args) -> list[dict]:
    out = io.StringIO()
    call_command("export_loan_snapshot", *args, stdout=out)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def test_header_rows_and_funder_columns(two_partners):
    rows = _run("--date", D.isoformat())
    assert list(rows[0]) == ["loan_no", "as_of", "principal_outstanding",
                             "interest_outstanding", "penalty_outstanding", "dpd", "status",
                             "partner", "class", "accruing", "bank_principal", "bank_interest",
                             "bank_penalty", "alpha_principal", "alpha_interest",
                             "alpha_penalty", "beta_principal", "beta_interest", "beta_penalty"]
    assert [(r["partner"], r["loan_no"]) for r in rows] == [("ALPHA", "A1"), ("ALPHA", "A2"),
                                                            ("BETA", "B1")]
    a1 = rows[0]
    assert (a1["as_of"], a1["principal_outstanding"], a1["interest_outstanding"],
            a1["penalty_outstanding"], a1["dpd"], a1["status"], a1["class"], a1["accruing"]) \
        == ("2026-06-16", "10000.00", "50.00", "0.00", "0", "ACTIVE", "NORMAL", "true")
    assert (a1["bank_principal"], a1["alpha_principal"], a1["beta_principal"]) == \
        ("7000.00", "3000.00", "")
    assert Decimal(a1["bank_interest"]) + Decimal(a1["alpha_interest"]) == Decimal("50.00")
    # A2: 6 days of penalty on 1,000.00 at 12 % × 1.5 / 360 = 3.00, split between the funders
    a2 = rows[1]
    assert (a2["status"], a2["dpd"], a2["class"], a2["penalty_outstanding"]) == \
        ("OVERDUE", "4", "SPECIAL_MENTION", "3.00")
    assert Decimal(a2["bank_penalty"]) + Decimal(a2["alpha_penalty"]) == Decimal("3.00")
    b1 = rows[2]
    assert Decimal(b1["bank_principal"]) + Decimal(b1["beta_principal"]) == Decimal("333.33")


def test_one_partner_to_a_file(two_partners, tmp_path):
    path = tmp_path / "snap.csv"
    err = io.StringIO()
    call_command("export_loan_snapshot", "--date", "2026-07-01", "--partner", "ALPHA",
                 "--output", str(path), stderr=err)
    rows = list(csv.DictReader(path.open(newline="")))
    assert [r["loan_no"] for r in rows] == ["A1", "A2", "LATER"]
    assert "beta_principal" not in rows[0]
    assert "3 loans written" in err.getvalue()


def test_bad_arguments_are_refused(two_partners):
    with pytest.raises(CommandError, match="no partner"):
        call_command("export_loan_snapshot", "--date", "2026-06-16", "--partner", "NOPE")
    with pytest.raises(CommandError, match="--date"):
        call_command("export_loan_snapshot", "--date", "16/06/2026")


def test_streams_in_blocks_without_building_the_result(two_partners):
    f.partner("GAMMA")  # a partner without loans: no column
    blocks: list[bytes] = []
    rows = selectors.loan_snapshot_stream(business_date=D, write=blocks.append)
    assert rows == 3 and len(blocks) >= 4  # header and each row arrive as they are produced
    assert b"gamma" not in blocks[0]
