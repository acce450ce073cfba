"""Issue 22: the bank statement's lines imported as statement payments
(`manage.py bank_statement_import`): every bad cell or refused line named by line and column,
nothing half-applied; a line whose reference matches no statement reported (and tried again
next time), never dropped; a second import of the same file records nothing twice.

Golden world as tests/integration/settlement/test_statement_lifecycle.py: ALPHA's D0 statement
−10,500.00 (the bank pays ALPHA: released first), D1 +641.77 (ALPHA pays the bank)."""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal as D

import pytest
from django.core.management import call_command

from ledger.models import JournalEntry
from lending.settlement import statements
from lending.settlement.models import PaymentSource, Statement, StatementPayment, StatementStatus
from tests.golden.conftest import golden  # noqa: F401 - the golden world fixture
from tests.golden.helpers import loan_row, pay_row, settle
from tests.integration.settlement.test_statement_lifecycle import D0, D1, _release

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(golden):  # noqa: F811
    settle(D0, loans=[loan_row("L1"), loan_row("L2", principal="5000.00")])
    settle(D1, repayments=[pay_row("T1", "L1", D1, "916.80")])
    return (Statement.objects.get(counterparty__code="ALPHA", business_date=D0),
            Statement.objects.get(counterparty__code="ALPHA", business_date=D1))


def _import(tmp_path, text: str, name: str = "bank.csv") -> tuple[int, dict | None, str]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8-sig")  # with a BOM, as a bank's export has
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command("bank_statement_import", str(path), stdout=out, stderr=err)
    except SystemExit as exc:
        code = exc.code
    summary = json.loads(out.getvalue()) if out.getvalue().strip() else None
    return code, summary, err.getvalue()


def _nothing_recorded():
    assert not StatementPayment.objects.exists()
    assert not JournalEntry.objects.filter(purpose=statements.PAYMENT_PURPOSE).exists()
    assert set(Statement.objects.values_list("status", flat=True)) == {StatementStatus.ISSUED}


def test_bad_rows_are_named_by_line_and_column_and_nothing_is_applied(world, tmp_path):
    d0, d1 = world
    code, _, err = _import(tmp_path, "\n".join([
        "bank_line_id,value_date,amount,reference,memo",
        f"B-1,2026-02-24,641.77,{d1.payment_reference},good",
        f"B-2,2026-02-30,10.00,{d1.payment_reference},bad date",
        f"B-3,2026-02-24,12.345,{d1.payment_reference},three decimals",
        "B-4,2026-02-24,1.00,,no reference",
        f"B-1,2026-02-24,1.00,{d1.payment_reference},the same bank line again",
        f"B-5,2026-02-24,abc,{d1.payment_reference}",
        f",2026-02-24,0,{d1.payment_reference},no id and zero",
    ]))
    assert code == 1
    assert err.splitlines() == [
        f"{tmp_path}/bank.csv: {e}" for e in [
            "line 3, column value_date: '2026-02-30' is not a date (YYYY-MM-DD)",
            "line 4, column amount: '12.345' is not a non-zero amount in fen (at most 2 "
            "decimals)",
            "line 5, column reference: empty",
            "line 6, column bank_line_id: 'B-1' is also on line 2",
            "line 7: 4 columns, the header has 5",
            "line 8, column amount: '0' is not a non-zero amount in fen (at most 2 decimals)",
            "line 8, column bank_line_id: empty",
            "nothing recorded (7 error(s))",
        ]]
    _nothing_recorded()
    code, _, err = _import(tmp_path, "value_date,amount,ref\n2026-02-24,1.00,X\n")
    assert code == 1 and "line 1: missing column(s) reference, bank_line_id" in err
    _nothing_recorded()


def test_a_refused_line_rolls_back_the_lines_before_it(world, tmp_path):
    d0, d1 = world
    code, summary, err = _import(tmp_path, "\n".join([
        "value_date,amount,reference,bank_line_id",
        f"2026-02-24,641.77,{d1.payment_reference},B-1",
        f"2026-01-16,-10500.00,{d0.payment_reference},B-2",  # not released yet
        f"2026-01-16,100.00,{d0.payment_reference},B-3",  # the wrong way
    ]))
    assert code == 1 and summary["applied"] == 0
    assert f"line 3, column amount: the bank's payment of statement {d0.payment_reference}" \
           in err and "is not released" in err
    assert f"line 4, column amount: statement {d0.payment_reference} nets -10500.00" in err
    _nothing_recorded()


def test_an_import_records_payments_reports_unmatched_lines_and_is_idempotent(world, tmp_path):
    d0, d1 = world
    _release(d0)
    text = "\n".join([
        "value_date,amount,reference,bank_line_id",
        f"2026-02-24,600.00,{d1.payment_reference},B-1",
        "2026-02-24,77.00,ST-NOBODY-20260224-9,B-2",
        f"2026-02-25,41.77,{d1.payment_reference},B-3",
        f"2026-01-16,-10500.00,{d0.payment_reference},B-4",
    ]) + "\n"
    before = statements.counterparty_balance(counterparty_code="ALPHA")["TOTAL"]
    code, summary, err = _import(tmp_path, text)
    assert code == 0, err
    assert (summary["applied"], summary["already_imported"], summary["errors"]) == (3, 0, [])
    assert summary["unmatched"] == [{"line": 3, "bank_line_id": "B-2",
                                     "reference": "ST-NOBODY-20260224-9",
                                     "value_date": "2026-02-24", "amount": "77.00"}]
    assert "line 3, column reference: 'ST-NOBODY-20260224-9' matches no statement" in err
    d0.refresh_from_db()
    d1.refresh_from_db()
    assert (d1.status, d1.paid_on) == (StatementStatus.PAID, date(2026, 2, 25))
    assert (d0.status, d0.paid_on) == (StatementStatus.PAID, date(2026, 1, 16))
    assert sorted(StatementPayment.objects.values_list("bank_line_id", "amount", "source")) == [
        ("B-1", D("600.00"), PaymentSource.BANK_STATEMENT),
        ("B-3", D("41.77"), PaymentSource.BANK_STATEMENT),
        ("B-4", D("-10500.00"), PaymentSource.BANK_STATEMENT)]
    after = statements.counterparty_balance(counterparty_code="ALPHA")
    assert after["TOTAL"] == before - D("641.77") + D("10500.00") == D("0.00")
    assert set(after.values()) == {D("0.00")}  # both statements paid: nothing due either way
    entries = JournalEntry.objects.filter(purpose=statements.PAYMENT_PURPOSE).count()

    # the same file again: nothing twice; the unmatched line is still reported
    code, summary, err = _import(tmp_path, text)
    assert code == 0, err
    assert (summary["applied"], summary["already_imported"]) == (0, 3)
    assert [u["bank_line_id"] for u in summary["unmatched"]] == ["B-2"]
    assert StatementPayment.objects.count() == 3
    assert JournalEntry.objects.filter(purpose=statements.PAYMENT_PURPOSE).count() == entries
    # a bank line id seen before with other figures is an error, not a silent skip
    code, _, err = _import(tmp_path, "value_date,amount,reference,bank_line_id\n"
                                     f"2026-02-24,600.01,{d1.payment_reference},B-1\n")
    assert code == 1 and "line 2, column bank_line_id: 'B-1' was imported before" in err
