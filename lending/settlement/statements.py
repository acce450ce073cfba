"""The life of a net settlement statement: issued, confirmed or disputed, paid; overdue alerts.

- **Issued** (`statements_issue`): a statement is PROVISIONAL while its run is not DONE; when
  the run is DONE (the runner calls this at once; the daily pass catches up any it missed,
  and statements made before this lifecycle existed) it becomes ISSUED with its due date (`business_date` + SETTLEMENT_PAYMENT_DAYS
  business days of `partners.calendar`, T+1 by default) and its payment reference
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

How a payment posts (BANK_GL, through `ledger.services.journal_entries_post`, one entry per
payment, idempotency key `statement-payment:<payment id>`, business date = the value date,
every line with the counterparty's code):

- the statement's run posted its gross amounts to the settlement accounts (due from platform
  1221, due from guarantor 1222, due to platform 2241, fee payable 2242, payable to guarantor
  2243) per program, and Σ of them (debit − credit) is its net amount (the `statements_tie`
  check);
- the first payment's entry clears every one of those gross balances (per account and program)
  and puts the net on one account: due from (1221, or 1222 for a guarantor) when the
  counterparty pays, due to (2241, or 2243) when the bank pays;
- every payment then moves that net against cash 1001: Dr 1001 / Cr due-from when the
  counterparty pays, Dr due-to / Cr 1001 when the bank pays.

Lines are netted per (account, program), so a statement paid at once in full is one entry
"Dr 2241 gross due-to, Cr 1221 gross due-from, Dr 1001 the net" (platform paying). The
counterparty's running balance — Σ debit − credit of its settlement accounts in BANK_GL
(`counterparty_balance`) — goes down by each payment's amount; a statement fully paid leaves
nothing on them.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from ledger import services as ledger
from ledger.domain import chart
from ledger.domain.drafts import EntryDraft, LineDraft
from ledger.domain.errors import LedgerError
from lending.settlement import posting
from lending.settlement.errors import SettlementError
from lending.settlement.models import (
    AlertReason,
    PaymentSource,
    RunState,
    Statement,
    StatementPayment,
    StatementStatus,
)
from partners import calendar

ZERO = Decimal("0.00")
CENT = Decimal("0.01")

# The accounts a statement's amounts post to (lending.settlement.posting_rules) and the
# counterparty's running balance is read from; the same set as the statements_tie check.
SETTLEMENT_ACCOUNTS = (chart.DUE_FROM_PLATFORM, chart.DUE_FROM_GUARANTOR, chart.DUE_TO_PLATFORM,
                       chart.FEE_PAYABLE, chart.CLAIM_PAYABLE_TO_GUARANTOR)
OPEN = (StatementStatus.ISSUED, StatementStatus.CONFIRMED, StatementStatus.DISPUTED)
PAYMENT_PURPOSE = "STATEMENT_PAYMENT"
NETTING_PURPOSE = "STATEMENT_NETTING"
BANK_CSV_COLUMNS = ("value_date", "amount", "reference", "bank_line_id")


class StatementError(SettlementError):
    """A lifecycle step or a payment refused; `field` names the input at fault, if any."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


class TransitionRefused(StatementError):
    """The statement's status does not allow the step (the API answers 409)."""


class UnknownReference(StatementError):
    """No statement carries the payment's reference."""


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
    lines = _netting_lines(st)
    if lines:
        ledger.journal_entries_post(drafts=[EntryDraft(
            book=chart.BANK_GL, business_date=st.business_date,
            idempotency_key=f"statement-netting:{st.pk}", purpose=NETTING_PURPOSE,
            lines=_drafts(lines, counterparty=st.counterparty.code, source=f"statement:{st.pk}"),
            source_run=f"statement:{st.pk}", memo=st.payment_reference)])
    Statement.objects.filter(pk=st.pk).update(status=StatementStatus.PAID,
                                              paid_on=st.business_date)


# --- Confirm, dispute -------------------------------------------------------------------------

def _locked(statement_id: int) -> Statement:
    return (Statement.objects.select_for_update(of=("self",))
            .select_related("run__partner", "counterparty").get(pk=statement_id))


@transaction.atomic
def statement_confirm(*, statement: Statement, by) -> Statement:
    """The counterparty agrees with the statement (ISSUED or DISPUTED → CONFIRMED)."""
    st = _locked(statement.pk)
    if st.status not in (StatementStatus.ISSUED, StatementStatus.DISPUTED):
        raise TransitionRefused(f"statement {st.payment_reference or st.pk} is {st.status}: "
                                "only an ISSUED or DISPUTED statement is confirmed")
    st.status, st.confirmed_at, st.confirmed_by = StatementStatus.CONFIRMED, timezone.now(), by
    st.save(update_fields=["status", "confirmed_at", "confirmed_by"])
    return st


@transaction.atomic
def statement_dispute(*, statement: Statement, by, reason: str) -> Statement:
    """The counterparty disputes the statement, saying why (ISSUED → DISPUTED)."""
    reason = (reason or "").strip()
    if not reason:
        raise StatementError("a dispute needs a reason", field="reason")
    st = _locked(statement.pk)
    if st.status != StatementStatus.ISSUED:
        raise TransitionRefused(f"statement {st.payment_reference or st.pk} is {st.status}: "
                                "only an ISSUED statement is disputed")
    st.status, st.disputed_at, st.disputed_by = StatementStatus.DISPUTED, timezone.now(), by
    st.dispute_reason = reason
    st.save(update_fields=["status", "disputed_at", "disputed_by", "dispute_reason"])
    return st


# --- Payments ---------------------------------------------------------------------------------

def _is_guarantor_statement(st: Statement) -> bool:
    return st.counterparty_id != st.run.partner_id


def _gross(st: Statement) -> dict[tuple[str, str], Decimal]:
    """(account, program) → debit − credit that the statement's run posted in BANK_GL to the
    counterparty's settlement accounts: the statement's gross amounts (Σ = its net)."""
    source_run = posting.run_key(st.run)
    with connection.cursor() as cur:
        cur.execute(
            """SELECT a.code, l.program, SUM(l.debit - l.credit)
                 FROM ledger_journalline l
                 JOIN ledger_journalentry e ON e.id = l.entry_id
                 JOIN ledger_book b ON b.id = e.book_id
                 JOIN ledger_account a ON a.id = l.account_id
                WHERE b.code = %s AND e.source_run = %s AND l.counterparty = %s
                  AND a.code = ANY(%s)
                GROUP BY 1, 2 ORDER BY 1, 2""",
            [chart.BANK_GL, source_run, st.counterparty.code, list(SETTLEMENT_ACCOUNTS)])
        return {(a, p): v for a, p, v in cur.fetchall() if v}


def _net_account(st: Statement) -> str:
    """Where the first payment puts the statement's net: due from (it pays), due to (paid)."""
    guarantor = _is_guarantor_statement(st)
    if st.net_amount > 0:
        return chart.DUE_FROM_GUARANTOR if guarantor else chart.DUE_FROM_PLATFORM
    return chart.CLAIM_PAYABLE_TO_GUARANTOR if guarantor else chart.DUE_TO_PLATFORM


def _netting_lines(st: Statement) -> dict[tuple[str, str], Decimal]:
    """Signed (debit +) lines that clear the statement's gross balances and hold its net on
    one account; refuses a statement that does not tie to its postings."""
    gross = _gross(st)
    total = sum(gross.values(), ZERO)
    if total != st.net_amount:
        raise StatementError(f"statement {st.payment_reference or st.pk} nets {st.net_amount} "
                             f"but its run posted {total} to its settlement accounts: "
                             "check_ledger first")
    lines: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for key, amount in gross.items():
        lines[key] -= amount
    if st.net_amount:
        lines[(_net_account(st), "")] += st.net_amount
    return {k: v for k, v in lines.items() if v}


def _drafts(lines: dict[tuple[str, str], Decimal], *, counterparty: str, source: str
            ) -> tuple[LineDraft, ...]:
    out = []
    for (account, program), amount in sorted(lines.items()):
        if amount > 0:
            out.append(LineDraft.dr(account, amount, program=program,
                                    counterparty=counterparty, source=source))
        elif amount < 0:
            out.append(LineDraft.cr(account, -amount, program=program,
                                    counterparty=counterparty, source=source))
    return tuple(out)


def money(value, field_name: str = "amount") -> Decimal:
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


@transaction.atomic
def statement_payment_record(*, reference: str, value_date: date, amount, source: str,
                             recorded_by=None, bank_line_id: str | None = None,
                             currency: str | None = None) -> StatementPayment:
    """Record a payment of the statement whose payment reference is `reference` and post its
    cash (see the module's docstring); PAID when the payments reach its net amount."""
    amount = money(amount)
    reference = (reference or "").strip()
    found = Statement.objects.filter(payment_reference=reference).values_list("pk", flat=True)
    if not reference or not found:
        raise UnknownReference(f"no statement has the payment reference {reference!r}",
                               field="reference")
    st = _locked(found[0])
    if st.status == StatementStatus.PROVISIONAL:
        raise TransitionRefused(f"statement {reference} is not issued", field="reference")
    if st.status == StatementStatus.PAID:
        raise TransitionRefused(f"statement {reference} is already paid", field="reference")
    if currency and currency != st.currency:
        raise StatementError(f"the payment is in {currency}, statement {reference} in "
                             f"{st.currency}", field="currency")
    if value_date < st.business_date:
        raise StatementError(f"value date {value_date} is before statement {reference}'s "
                             f"business date {st.business_date}", field="value_date")
    if (amount > 0) != (st.net_amount > 0):
        who = "the counterparty pays the bank" if st.net_amount > 0 else \
            "the bank pays the counterparty"
        raise StatementError(f"statement {reference} nets {st.net_amount} ({who}): a payment "
                             f"of {amount} goes the wrong way", field="amount")
    if st.net_amount < 0:
        why = _release_missing(st)
        if why:
            raise StatementError(why, field="amount")
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
    lines = _netting_lines(st) if not paid else {}
    lines = defaultdict(lambda: ZERO, lines)
    lines[(chart.CASH, "")] += amount
    lines[(_net_account(st), "")] -= amount
    key = f"statement-payment:{payment.pk}"
    try:
        ledger.journal_entries_post(drafts=[EntryDraft(
            book=chart.BANK_GL, business_date=value_date, idempotency_key=key,
            purpose=PAYMENT_PURPOSE,
            lines=_drafts(lines, counterparty=st.counterparty.code, source=f"payment:{payment.pk}"),
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


# --- The bank statement -----------------------------------------------------------------------

@dataclass
class BankLine:
    line: int  # the CSV's line number (the header is line 1)
    value_date: date
    amount: Decimal
    reference: str
    bank_line_id: str


@dataclass
class BankImport:
    applied: list[dict] = field(default_factory=list)
    already_imported: list[dict] = field(default_factory=list)
    unmatched: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        return {"applied": len(self.applied), "already_imported": len(self.already_imported),
                "unmatched": self.unmatched, "errors": self.errors,
                "payments": self.applied}


def bank_statement_parse(text: str) -> tuple[list[BankLine], list[str]]:
    """The bank statement CSV (columns value_date, amount, reference, bank_line_id; a header
    row; any column order; other columns ignored) as lines, and one error per bad cell or row,
    naming the line and the column."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return [], ["line 1: the file is empty (expected the header "
                    f"{','.join(BANK_CSV_COLUMNS)})"]
    missing = [c for c in BANK_CSV_COLUMNS if c not in header]
    if missing:
        return [], [f"line 1: missing column(s) {', '.join(missing)} (expected "
                    f"{','.join(BANK_CSV_COLUMNS)})"]
    index = {c: header.index(c) for c in BANK_CSV_COLUMNS}
    lines: list[BankLine] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for no, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        if len(row) != len(header):
            errors.append(f"line {no}: {len(row)} columns, the header has {len(header)}")
            continue
        cell = {c: row[i].strip() for c, i in index.items()}
        problems = []
        try:
            value_date = date.fromisoformat(cell["value_date"])
        except ValueError:
            problems.append(f"line {no}, column value_date: {cell['value_date']!r} is not a "
                            "date (YYYY-MM-DD)")
        try:
            amount = money(cell["amount"])
        except StatementError as exc:
            problems.append(f"line {no}, column amount: {exc}")
        if not cell["reference"]:
            problems.append(f"line {no}, column reference: empty")
        if not cell["bank_line_id"]:
            problems.append(f"line {no}, column bank_line_id: empty")
        elif len(cell["bank_line_id"]) > 64:
            problems.append(f"line {no}, column bank_line_id: longer than 64 characters")
        elif cell["bank_line_id"] in seen:
            problems.append(f"line {no}, column bank_line_id: {cell['bank_line_id']!r} is "
                            f"also on line {seen[cell['bank_line_id']]}")
        else:
            seen[cell["bank_line_id"]] = no
        if problems:
            errors += problems
            continue
        lines.append(BankLine(no, value_date, amount, cell["reference"], cell["bank_line_id"]))
    return lines, errors


def bank_statement_import(*, lines: Iterable[BankLine], recorded_by=None) -> BankImport:
    """Record the bank statement's lines as payments, all or nothing: a line already imported
    (its bank line id) is skipped, a line whose reference matches no statement is reported as
    unmatched (and tried again by the next import), and any refused line rolls every line back
    (`errors` names each one's line and column)."""
    out = BankImport()
    lines = list(lines)
    known = dict(StatementPayment.objects.filter(
        bank_line_id__in=[ln.bank_line_id for ln in lines])
        .values_list("bank_line_id", "pk"))
    with transaction.atomic():
        for ln in lines:
            row = {"line": ln.line, "bank_line_id": ln.bank_line_id, "reference": ln.reference,
                   "value_date": ln.value_date.isoformat(), "amount": str(ln.amount)}
            if ln.bank_line_id in known:
                previous = StatementPayment.objects.get(pk=known[ln.bank_line_id])
                if (previous.reference, previous.value_date, previous.amount) != \
                        (ln.reference, ln.value_date, ln.amount):
                    out.errors.append(
                        f"line {ln.line}, column bank_line_id: {ln.bank_line_id!r} was imported "
                        f"before as {previous.reference} {previous.value_date} "
                        f"{previous.amount}, not {ln.reference} {ln.value_date} {ln.amount}")
                else:
                    out.already_imported.append(row)
                continue
            try:
                payment = statement_payment_record(
                    reference=ln.reference, value_date=ln.value_date, amount=ln.amount,
                    source=PaymentSource.BANK_STATEMENT, recorded_by=recorded_by,
                    bank_line_id=ln.bank_line_id)
            except UnknownReference:
                out.unmatched.append(row)
            except StatementError as exc:
                out.errors.append(f"line {ln.line}, column {exc.field or 'reference'}: {exc}")
            else:
                out.applied.append({**row, "payment": payment.pk,
                                    "statement": payment.statement_id,
                                    "statement_status": payment.statement.status})
        if out.errors:
            transaction.set_rollback(True)
            out.applied = []
    return out


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


def statements_daily(*, now: datetime | None = None) -> dict:
    """The daily pass (beat, `lending.statements_overdue`): issue what a run did not, then the
    overdue alerts as of today."""
    now = now or timezone.now()
    issued = statements_issue(now=now)
    return {"issued": issued,
            "alerts": statements_overdue_alert(today=timezone.localdate(now))}


# --- The running balance ----------------------------------------------------------------------

def counterparty_balance(*, counterparty_code: str, as_of: date | None = None
                         ) -> dict[str, Decimal]:
    """A counterparty's running balance from the GL: per settlement account, debit − credit of
    every BANK_GL line with its code (dated up to `as_of`, default all), and their Σ under
    "TOTAL" (+: it owes the bank; −: the bank owes it)."""
    with connection.cursor() as cur:
        cur.execute(
            """SELECT a.code, SUM(l.debit - l.credit)
                 FROM ledger_journalline l
                 JOIN ledger_journalentry e ON e.id = l.entry_id
                 JOIN ledger_book b ON b.id = e.book_id
                 JOIN ledger_account a ON a.id = l.account_id
                WHERE b.code = %s AND l.counterparty = %s AND a.code = ANY(%s)
                  AND (%s::date IS NULL OR e.business_date <= %s::date)
                GROUP BY 1""",
            [chart.BANK_GL, counterparty_code, list(SETTLEMENT_ACCOUNTS), as_of, as_of])
        found = dict(cur.fetchall())
    out = {code: found.get(code) or ZERO for code in SETTLEMENT_ACCOUNTS}
    out["TOTAL"] = sum(out.values(), ZERO)
    return out
