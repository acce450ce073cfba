"""Issue 22, the settlement lifecycle (acceptance 3): a statement is ISSUED when its run is DONE
(due date T+1 on the bank's calendar, payment reference), PAID when payments cover its net;
recording a payment posts cash in BANK_GL against the due-to / due-from balances the run made,
so the counterparty's running balance (Σ of its settlement accounts) goes down by what was paid
and equals the GL accounts.

Golden world (ALPHA 70/30 with the bank, GUARD its guarantor): D0 books L1 (10,000.00) and L2
(5,000.00): the bank owes ALPHA its 70 % of the disbursements, 10,500.00 (statement −10,500.00);
D1 L1 pays its first instalment 916.80, of which the bank's 70 % of principal and of interest,
each split to the cent, is collected through ALPHA:
ALPHA owes the bank 641.77 (statement +641.77)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal as D

import pytest
from django.db import connection
from django.utils import timezone

from controls import requests as change_requests
from controls.models import RequestKind
from ledger.domain import chart
from ledger.selectors import account_balance_get
from lending.settlement import statements
from lending.settlement.models import (
    PaymentSource,
    RunState,
    SettlementRun,
    Statement,
    StatementPayment,
    StatementStatus,
)
from partners.models import Partner
from tests.functional.controls.helpers import role_user
from tests.golden.conftest import golden  # noqa: F401 - the golden world fixture
from tests.golden.helpers import loan_row, pay_row, settle

pytestmark = pytest.mark.django_db

D0, D1 = date(2026, 1, 15), date(2026, 2, 16)
STAFF = PaymentSource.STAFF


@pytest.fixture
def world(golden):  # noqa: F811
    settle(D0, loans=[loan_row("L1"), loan_row("L2", principal="5000.00")])
    settle(D1, repayments=[pay_row("T1", "L1", D1, "916.80")])
    return {"d0": Statement.objects.get(counterparty__code="ALPHA", business_date=D0),
            "d1": Statement.objects.get(counterparty__code="ALPHA", business_date=D1)}


def _gl(code: str) -> dict[str, D]:
    """The counterparty's settlement accounts in BANK_GL, each read by the ledger's selector."""
    out = {}
    for account in statements.SETTLEMENT_ACCOUNTS:
        b = account_balance_get(book=chart.BANK_GL, account=account, as_of=date(2099, 1, 1),
                                counterparty=code)
        out[account] = b.debit_total - b.credit_total
    return out


def _lines(key: str) -> list[tuple[str, str, D, D]]:
    with connection.cursor() as cur:
        cur.execute("""SELECT a.code, l.program, l.debit, l.credit FROM ledger_journalline l
                         JOIN ledger_journalentry e ON e.id = l.entry_id
                         JOIN ledger_account a ON a.id = l.account_id
                        WHERE e.idempotency_key = %s ORDER BY 1, 2""", [key])
        return cur.fetchall()


def _release(statement: Statement) -> None:
    """Finance requests the release of the bank's payment; an approver approves it."""
    req = change_requests.request_create(
        kind=RequestKind.PAYMENT_RELEASE, target_id=statement.pk,
        payload={"amount": str(statement.net_amount)}, note="release", by=role_user("fiona",
                                                                                   "finance"))
    change_requests.request_approve(req=req, by=role_user("abe", "approver"))


def test_a_done_run_issues_its_statements_with_due_date_and_reference(world):
    d0, d1 = world["d0"], world["d1"]
    assert (d0.status, d0.net_amount, d0.due_date) == (StatementStatus.ISSUED, D("-10500.00"),
                                                       date(2026, 1, 16))
    assert d0.payment_reference == f"ST-ALPHA-20260115-{d0.pk}"
    # D1 is a Monday in the Spring Festival's week: the next business day is 02-24
    assert (d1.status, d1.net_amount, d1.due_date) == (StatementStatus.ISSUED, D("641.77"),
                                                       date(2026, 2, 24))
    assert d1.payment_reference == f"ST-ALPHA-20260216-{d1.pk}"
    assert statements.due_date_of(D1, 2) == date(2026, 2, 25)  # SETTLEMENT_PAYMENT_DAYS = 2
    assert d0.issued_at is not None


def test_a_statement_of_a_run_that_is_not_done_stays_provisional(world, settings):
    run = SettlementRun.objects.create(partner=Partner.objects.get(code="ALPHA"),
                                       business_date=date(2026, 3, 2), state=RunState.FAILED)
    st = Statement.objects.create(counterparty=run.partner, business_date=run.business_date,
                                  run=run, net_amount=D("12.00"))
    assert statements.statements_issue() == 0
    st.refresh_from_db()
    assert (st.status, st.due_date, st.payment_reference) == (StatementStatus.PROVISIONAL,
                                                              None, "")
    with pytest.raises(statements.TransitionRefused, match="not issued"):
        Statement.objects.filter(pk=st.pk).update(payment_reference="ST-X")
        statements.statement_payment_record(reference="ST-X", value_date=date(2026, 3, 3),
                                            amount="12.00", source=STAFF)
    Statement.objects.filter(pk=st.pk).update(payment_reference="")
    settings.SETTLEMENT_PAYMENT_DAYS = 2
    SettlementRun.objects.filter(pk=run.pk).update(state=RunState.DONE)
    assert statements.statements_issue() == 1
    st.refresh_from_db()
    assert (st.status, st.due_date) == (StatementStatus.ISSUED, date(2026, 3, 4))


def test_recording_a_payment_posts_cash_and_clears_the_due_balance(world):
    d1 = world["d1"]
    before = statements.counterparty_balance(counterparty_code="ALPHA")
    assert before == {**_gl("ALPHA"), "TOTAL": sum(_gl("ALPHA").values())}
    # what D0 and D1 made: the bank owes the disbursements, ALPHA owes the collections
    assert before["TOTAL"] == D("-10500.00") + D("641.77")

    payment = statements.statement_payment_record(
        reference=d1.payment_reference, value_date=date(2026, 2, 24), amount="641.77",
        source=STAFF)
    d1.refresh_from_db()
    assert (d1.status, d1.paid_on) == (StatementStatus.PAID, date(2026, 2, 24))
    assert payment.journal_entry_key == f"statement-payment:{payment.pk}"
    # one entry: the gross collections cleared from due-from-platform per program, cash in
    collected = [(a, p, dr, cr) for a, p, dr, cr in _lines(payment.journal_entry_key)]
    assert collected == [(chart.CASH, "", D("641.77"), D("0.00")),
                         (chart.DUE_FROM_PLATFORM, "ALPHA/CASH", D("0.00"), D("641.77"))]
    after = statements.counterparty_balance(counterparty_code="ALPHA")
    assert after["TOTAL"] == before["TOTAL"] - D("641.77") == D("-10500.00")
    assert after == {**_gl("ALPHA"), "TOTAL": sum(_gl("ALPHA").values())}
    assert after[chart.DUE_FROM_PLATFORM] == D("0.00")
    cash = account_balance_get(book=chart.BANK_GL, account=chart.CASH, as_of=date(2026, 2, 24))
    assert cash.balance == D("641.77")
    # paid: nothing more is taken
    with pytest.raises(statements.TransitionRefused, match="already paid"):
        statements.statement_payment_record(reference=d1.payment_reference,
                                            value_date=date(2026, 2, 24), amount="1.00",
                                            source=STAFF)


def test_the_bank_pays_only_a_released_statement_and_partial_payments_add_up(world):
    d0 = world["d0"]
    ref = d0.payment_reference
    with pytest.raises(statements.StatementError, match="is not released"):
        statements.statement_payment_record(reference=ref, value_date=D0, amount="-10500.00",
                                            source=STAFF)
    assert not StatementPayment.objects.exists()
    _release(d0)
    refusals = [
        ("10500.00", D0, "goes the wrong way"),
        ("-10500.01", D0, "overpays"),
        ("-1.00", date(2026, 1, 14), "before statement"),
        ("-1.001", D0, "not a non-zero amount in fen"),
    ]
    for amount, value_date, message in refusals:
        with pytest.raises(statements.StatementError, match=message):
            statements.statement_payment_record(reference=ref, value_date=value_date,
                                                amount=amount, source=STAFF)
    with pytest.raises(statements.UnknownReference):
        statements.statement_payment_record(reference="ST-NOPE", value_date=D0, amount="-1.00",
                                            source=STAFF)
    assert not StatementPayment.objects.exists()  # a refusal writes nothing
    before = statements.counterparty_balance(counterparty_code="ALPHA")["TOTAL"]

    first = statements.statement_payment_record(reference=ref, value_date=D0,
                                                amount="-10000.00", source=STAFF)
    d0.refresh_from_db()
    assert d0.status == StatementStatus.ISSUED  # 500.00 still to pay
    # the first payment clears the gross due-to and holds the net on it, then pays part of it
    assert _lines(first.journal_entry_key) == [
        (chart.CASH, "", D("0.00"), D("10000.00")),
        (chart.DUE_TO_PLATFORM, "", D("0.00"), D("500.00")),
        (chart.DUE_TO_PLATFORM, "ALPHA/CASH", D("10500.00"), D("0.00")),
    ]
    mid = statements.counterparty_balance(counterparty_code="ALPHA")["TOTAL"]
    assert mid == before + D("10000.00")
    with pytest.raises(statements.StatementError, match="overpays.*-500.00 is outstanding"):
        statements.statement_payment_record(reference=ref, value_date=D0, amount="-500.01",
                                            source=STAFF)
    second = statements.statement_payment_record(reference=ref, value_date=date(2026, 1, 16),
                                                 amount="-500.00", source=STAFF)
    assert _lines(second.journal_entry_key) == [
        (chart.CASH, "", D("0.00"), D("500.00")),
        (chart.DUE_TO_PLATFORM, "", D("500.00"), D("0.00")),
    ]
    d0.refresh_from_db()
    assert (d0.status, d0.paid_on) == (StatementStatus.PAID, date(2026, 1, 16))
    gl = _gl("ALPHA")
    assert gl[chart.DUE_TO_PLATFORM] == D("0.00")  # D0's disbursement funding is paid
    assert statements.counterparty_balance(counterparty_code="ALPHA") == {
        **gl, "TOTAL": before + D("10500.00")}


def test_confirm_and_dispute_follow_the_lifecycle(world):
    d0, d1 = world["d0"], world["d1"]
    user = role_user("someone")
    with pytest.raises(statements.StatementError, match="needs a reason"):
        statements.statement_dispute(statement=d0, by=user, reason="  ")
    statements.statement_dispute(statement=d0, by=user, reason="L2 was cancelled")
    with pytest.raises(statements.TransitionRefused, match="only an ISSUED"):
        statements.statement_dispute(statement=d0, by=user, reason="again")
    d0 = statements.statement_confirm(statement=d0, by=user)  # settled after the dispute
    assert (d0.status, d0.dispute_reason, d0.confirmed_by) == (
        StatementStatus.CONFIRMED, "L2 was cancelled", user)
    with pytest.raises(statements.TransitionRefused, match="is CONFIRMED"):
        statements.statement_confirm(statement=d0, by=user)
    statements.statement_payment_record(reference=d1.payment_reference, value_date=D1,
                                        amount="641.77", source=STAFF)
    for step in (lambda: statements.statement_confirm(statement=d1, by=user),
                 lambda: statements.statement_dispute(statement=d1, by=user, reason="late")):
        with pytest.raises(statements.TransitionRefused, match="is PAID"):
            step()


def test_an_overdue_statement_raises_one_alert(world, mailoutbox, settings):
    settings.ADMINS = [("Ops", "ops@bank.test")]
    d0, d1 = world["d0"], world["d1"]
    statements.statement_payment_record(reference=d1.payment_reference, value_date=D1,
                                        amount="641.77", source=STAFF)
    assert statements.statements_overdue_alert(today=date(2026, 1, 16)) == []  # due today
    keys = statements.statements_overdue_alert(today=date(2026, 1, 19))
    assert keys == [f"PAYMENT_OVERDUE:ALPHA:{D0}:{d0.pk}"]  # the paid one is not overdue
    assert len(mailoutbox) == 1 and d0.payment_reference in mailoutbox[0].body
    assert "the bank owes ALPHA 10500.00" in mailoutbox[0].body
    assert statements.statements_overdue_alert(today=date(2026, 1, 20)) == []  # once
    daily = statements.statements_daily(
        now=datetime(2026, 3, 1, 2, 30, tzinfo=timezone.get_current_timezone()))
    assert daily == {"issued": 0, "alerts": []}
    assert len(mailoutbox) == 1
