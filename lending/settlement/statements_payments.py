"""A statement's payments (lending.settlement.statements): recorded by finance staff or
imported from the bank statement (lending.settlement.statements_bank).

A payment carries the statement's payment reference, a value date and an amount signed like
the statement's net (+ the counterparty paid, − the bank paid). The bank's own payment
(net < 0) needs its four-eyes release (`controls.PaymentRelease`) first. The statement is PAID
when its payments add up to its net amount; no payment may overpay it. Each payment posts its
cash in BANK_GL (lending.settlement.statements_ledger).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Sum

from ledger import services as ledger
from ledger.domain import chart
from ledger.domain.drafts import EntryDraft
from ledger.domain.errors import LedgerError
from lending.settlement.models import Statement, StatementPayment, StatementStatus
from lending.settlement.statements_base import (
    CENT,
    ZERO,
    StatementError,
    TransitionRefused,
    UnknownReference,
    statement_locked,
)
from lending.settlement.statements_ledger import PAYMENT_PURPOSE, line_drafts, payment_lines

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def money(value: object, field_name: str = "amount") -> Decimal:
    """A Decimal amount in fen, not zero (StatementError naming the field otherwise)."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise StatementError(f"{value!r} is not an amount", field=field_name) from exc
    if not amount.is_finite() or amount != amount.quantize(CENT) or not amount:
        raise StatementError(f"{value!r} is not a non-zero amount in fen (at most 2 decimals)",
                             field=field_name)
    if abs(amount) >= Decimal("1e16"):
        raise StatementError(f"{value} is too large", field=field_name)
    return amount.quantize(CENT)


def _release_missing(st: Statement) -> str | None:
    """Why the bank may not pay the statement yet (None: its payment is released)."""
    from controls.models import PaymentRelease  # controls reads the statements: load on use

    release = PaymentRelease.objects.filter(statement_id=st.pk).first()
    if release is None:
        return (f"the bank's payment of statement {st.payment_reference} "
                f"({-st.net_amount} {st.currency} to {st.counterparty.code}) is not released: "
                "finance requests its release and an approver approves it first")
    if release.amount != st.net_amount:
        return (f"the released amount {release.amount} differs from statement "
                f"{st.payment_reference}'s net {st.net_amount}")
    return None


def _refusal(st: Statement, *, reference: str, value_date: date, amount: Decimal,
             currency: str | None) -> StatementError | None:
    """Why the payment may not be recorded against the (locked) statement, if it may not."""
    if st.status == StatementStatus.PROVISIONAL:
        return TransitionRefused(f"statement {reference} is not issued", field="reference")
    if st.status == StatementStatus.PAID:
        return TransitionRefused(f"statement {reference} is already paid", field="reference")
    if currency and currency != st.currency:
        return StatementError(f"the payment is in {currency}, statement {reference} in "
                              f"{st.currency}", field="currency")
    if value_date < st.business_date:
        return StatementError(f"value date {value_date} is before statement {reference}'s "
                              f"business date {st.business_date}", field="value_date")
    if (amount > 0) != (st.net_amount > 0):
        who = "the counterparty pays the bank" if st.net_amount > 0 else \
            "the bank pays the counterparty"
        return StatementError(f"statement {reference} nets {st.net_amount} ({who}): a payment "
                              f"of {amount} goes the wrong way", field="amount")
    if st.net_amount < 0:
        why = _release_missing(st)
        if why:
            return StatementError(why, field="amount")
    return None


@transaction.atomic
def statement_payment_record(*, reference: str, value_date: date, amount: object, source: str,
                             recorded_by: User | None = None,
                             bank_line_id: str | None = None,
                             currency: str | None = None) -> StatementPayment:
    """Record a payment of the statement whose payment reference is `reference` and post its
    cash (lending.settlement.statements_ledger); PAID when the payments reach its net."""
    amount = money(amount)
    reference = (reference or "").strip()
    found = Statement.objects.filter(payment_reference=reference).values_list("pk", flat=True)
    if not reference or not found:
        raise UnknownReference(f"no statement has the payment reference {reference!r}",
                               field="reference")
    st = statement_locked(found[0])
    refused = _refusal(st, reference=reference, value_date=value_date, amount=amount,
                       currency=currency)
    if refused:
        raise refused
    paid = st.payments.aggregate(s=Sum("amount"))["s"] or ZERO
    outstanding = st.net_amount - paid
    if abs(amount) > abs(outstanding):
        raise StatementError(f"a payment of {amount} overpays statement {reference}: "
                             f"{outstanding} is outstanding of {st.net_amount}", field="amount")
    try:
        with transaction.atomic():
            payment = StatementPayment.objects.create(
                statement=st, reference=reference, value_date=value_date, amount=amount,
                currency=st.currency, source=source, bank_line_id=bank_line_id or "",
                recorded_by=recorded_by)
    except IntegrityError as exc:
        raise StatementError(f"bank line {bank_line_id} is already recorded",
                             field="bank_line_id") from exc
    lines = payment_lines(st, amount=amount, first=not paid)
    key = f"statement-payment:{payment.pk}"
    try:
        ledger.journal_entries_post(drafts=[EntryDraft(
            book=chart.BANK_GL, business_date=value_date, idempotency_key=key,
            purpose=PAYMENT_PURPOSE,
            lines=line_drafts(lines, counterparty=st.counterparty.code,
                              source=f"payment:{payment.pk}"),
            source_run=f"statement:{st.pk}", memo=f"{reference} {source}")])
    except LedgerError as exc:
        raise StatementError(f"the ledger refused the payment of {reference}: {exc}",
                             field="value_date") from exc
    payment.journal_entry_key = key
    payment.save(update_fields=["journal_entry_key"])
    if paid + amount == st.net_amount:
        st.status, st.paid_on = StatementStatus.PAID, value_date
        st.save(update_fields=["status", "paid_on"])
    return payment

