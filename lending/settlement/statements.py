"""The life of a net settlement statement: issued, confirmed or disputed, paid; overdue alerts.

- **Issued** (`statements_issue`): a statement is PROVISIONAL while its run is not DONE; when
  the run is DONE (the runner calls this at once; the daily pass catches up any it missed,
  and statements made before this lifecycle existed) it becomes ISSUED with its due date
  (`business_date` + SETTLEMENT_PAYMENT_DAYS business days of `partners.calendar`, T+1 by
  default) and its payment reference
  `ST-<counterparty code>-<yyyymmdd>-<id>`. A statement that nets to zero owes nothing: it is
  issued PAID at once (its gross due-to / due-from balances cleared against each other).
- **Confirmed / disputed** by the counterparty (partner API and pages): ISSUED or DISPUTED →
  CONFIRMED; ISSUED → DISPUTED with a reason. Nothing is confirmed or disputed once PAID.
- **Paid** (`statement_payment_record`): a payment (reference, value date, amount signed like
  the net: + the counterparty paid, − the bank paid) recorded by finance staff or imported
  from the bank statement (`bank_statement_import`, idempotent by the bank's line id). The
  bank's own payment (net < 0) needs its four-eyes release (`controls.PaymentRelease`) first.
  The statement is PAID when its payments add up to its net amount; no payment may overpay it.
- **Overdue** (`statements_overdue_alert`, run daily by the periodic task
  `lending.statements_overdue` at SETTLEMENT_DAILY_AT, `statements_daily`): an issued statement
  not PAID after its due date raises one alert (`PAYMENT_OVERDUE`,
  lending.settlement.scheduler.alert).

The module is the statements' one address: it holds the lifecycle and re-exports the rest —
the payments (lending.settlement.statements_payments), the bank statement import
(statements_bank), how a payment posts and the counterparty's running balance
(statements_ledger), the errors (statements_base).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from lending.settlement.models import AlertReason, RunState, Statement, StatementStatus
from lending.settlement.statements_bank import (
    BANK_CSV_COLUMNS,
    BankImport,
    BankLine,
    bank_statement_import,
    bank_statement_parse,
)
from lending.settlement.statements_base import (
    ZERO,
    StatementError,
    TransitionRefused,
    UnknownReference,
    statement_locked,
)
from lending.settlement.statements_ledger import (
    NETTING_PURPOSE,
    PAYMENT_PURPOSE,
    SETTLEMENT_ACCOUNTS,
    counterparty_balance,
    netting_post,
)
from lending.settlement.statements_payments import money, statement_payment_record
from partners import calendar

if TYPE_CHECKING:
    from django.contrib.auth.models import User

__all__ = [
    "BANK_CSV_COLUMNS", "NETTING_PURPOSE", "OPEN", "PAYMENT_PURPOSE", "SETTLEMENT_ACCOUNTS",
    "BankImport", "BankLine", "StatementError", "TransitionRefused", "UnknownReference",
    "bank_statement_import", "bank_statement_parse", "counterparty_balance", "due_date_of",
    "money", "payment_days", "payment_reference_of", "statement_confirm", "statement_dispute",
    "statement_payment_record", "statements_daily", "statements_issue",
    "statements_overdue_alert",
]

OPEN = (StatementStatus.ISSUED, StatementStatus.CONFIRMED, StatementStatus.DISPUTED)


# --- Issue ------------------------------------------------------------------------------------

def payment_days() -> int:
    return int(getattr(settings, "SETTLEMENT_PAYMENT_DAYS", 1))


def due_date_of(business_date: date, days: int | None = None) -> date:
    """The due date of a statement of `business_date`: that many business days later."""
    days = payment_days() if days is None else days
    if days <= 0:
        return business_date
    # one read of the calendar: n business days lie within 2n + 40 calendar days (the longest
    # holiday run is 9 days)
    found = calendar.business_days(business_date + timedelta(days=1),
                                   business_date + timedelta(days=2 * days + 40))
    if len(found) >= days:
        return found[days - 1]
    due = found[-1] if found else business_date
    for _ in range(days - len(found)):
        due = calendar.next_business_day(due)
    return due


def payment_reference_of(*, counterparty_code: str, business_date: date, statement_id: int
                         ) -> str:
    return f"ST-{counterparty_code}-{business_date:%Y%m%d}-{statement_id}"


def statements_issue(*, run_id: int | None = None, now: datetime | None = None) -> int:
    """Issue every PROVISIONAL statement whose run is DONE (of one run, or all): due date,
    payment reference, status ISSUED — or PAID when it nets to zero. Returns how many."""
    now = now or timezone.now()
    qs = Statement.objects.filter(status=StatementStatus.PROVISIONAL, run__state=RunState.DONE)
    if run_id is not None:
        qs = qs.filter(run_id=run_id)
    days = sorted(set(qs.values_list("business_date", flat=True)))
    if not days:
        return 0
    issued: list[tuple[int, Decimal]] = []
    with transaction.atomic():
        for day in days:  # a handful: the runs just DONE
            with connection.cursor() as cur:
                cur.execute(
                    """UPDATE lending_statement s
                          SET status = %s, issued_at = %s, due_date = %s,
                              payment_reference = 'ST-' || p.code || '-'
                                  || to_char(s.business_date, 'YYYYMMDD') || '-' || s.id
                         FROM partners_partner p, lending_settlementrun r
                        WHERE p.id = s.counterparty_id AND r.id = s.run_id
                          AND s.status = %s AND r.state = %s AND s.business_date = %s
                          AND (%s::bigint IS NULL OR s.run_id = %s::bigint)
                    RETURNING s.id, s.net_amount""",
                    [StatementStatus.ISSUED, now, due_date_of(day), StatementStatus.PROVISIONAL,
                     RunState.DONE, day, run_id, run_id])
                issued += cur.fetchall()
        zero = [pk for pk, net in issued if not net]
        for st in (Statement.objects.filter(pk__in=zero)
                   .select_related("run__partner", "counterparty").order_by("pk")):
            _settle_zero(st)
    return len(issued)


def _settle_zero(st: Statement) -> None:
    """A statement that nets to zero is paid as issued: its gross balances cleared, no cash."""
    netting_post(st)
    Statement.objects.filter(pk=st.pk).update(status=StatementStatus.PAID,
                                              paid_on=st.business_date)


# --- Confirm, dispute -------------------------------------------------------------------------

@transaction.atomic
def statement_confirm(*, statement: Statement, by: User | None) -> Statement:
    """The counterparty agrees with the statement (ISSUED or DISPUTED → CONFIRMED)."""
    st = statement_locked(statement.pk)
    if st.status not in (StatementStatus.ISSUED, StatementStatus.DISPUTED):
        raise TransitionRefused(f"statement {st.payment_reference or st.pk} is {st.status}: "
                                "only an ISSUED or DISPUTED statement is confirmed")
    st.status, st.confirmed_at, st.confirmed_by = StatementStatus.CONFIRMED, timezone.now(), by
    st.save(update_fields=["status", "confirmed_at", "confirmed_by"])
    return st


@transaction.atomic
def statement_dispute(*, statement: Statement, by: User | None, reason: str
                      ) -> Statement:
    """The counterparty disputes the statement, saying why (ISSUED → DISPUTED)."""
    reason = (reason or "").strip()
    if not reason:
        raise StatementError("a dispute needs a reason", field="reason")
    st = statement_locked(statement.pk)
    if st.status != StatementStatus.ISSUED:
        raise TransitionRefused(f"statement {st.payment_reference or st.pk} is {st.status}: "
                                "only an ISSUED statement is disputed")
    st.status, st.disputed_at, st.disputed_by = StatementStatus.DISPUTED, timezone.now(), by
    st.dispute_reason = reason
    st.save(update_fields=["status", "disputed_at", "disputed_by", "dispute_reason"])
    return st


# --- Overdue ----------------------------------------------------------------------------------

def statements_overdue_alert(*, today: date) -> list[str]:
    """One alert per issued statement still not PAID after its due date (a zero net owes
    nothing); returns the keys raised now."""
    from lending.settlement.scheduler import alert

    raised = []
    overdue = (Statement.objects.filter(status__in=OPEN, due_date__lt=today)
               .exclude(net_amount=0).select_related("counterparty", "run__partner")
               .order_by("due_date", "pk"))
    for st in overdue:
        paid = st.payments.aggregate(s=Sum("amount"))["s"] or ZERO
        who = (f"{st.counterparty.code} owes the bank" if st.net_amount > 0
               else f"the bank owes {st.counterparty.code}")
        key = alert(AlertReason.PAYMENT_OVERDUE, st.counterparty, st.business_date, run=st.run,
                    key_suffix=str(st.pk),
                    message=f"statement {st.payment_reference} (platform {st.run.partner.code},"
                            f" {st.business_date}) was due on {st.due_date} and is "
                            f"{st.status}: {who} {abs(st.net_amount - paid)} {st.currency}"
                            + (f" (disputed: {st.dispute_reason})"
                               if st.status == StatementStatus.DISPUTED else ""))
        raised += [key] if key else []
    return raised


def statements_daily(*, now: datetime | None = None) -> dict[str, Any]:
    """The daily pass (beat, `lending.statements_overdue`): issue what a run did not, then the
    overdue alerts as of today."""
    now = now or timezone.now()
    issued = statements_issue(now=now)
    return {"issued": issued,
            "alerts": statements_overdue_alert(today=timezone.localdate(now))}
