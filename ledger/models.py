"""Ledger: double-entry books whose integrity PostgreSQL itself enforces.

Design in brief (DESIGN.md §7, CONVENTIONS.md "Ledger rules"):

- A `Book` is a set of accounts that balances on its own: ``BANK_GL`` (the bank's general
  ledger) and memo books ``MEMO_<PARTNERCODE>`` that show a partner's position double-entry
  (made on demand by ``services.memo_book_ensure``). The ledger knows nothing of loans or
  partners: dimensions on lines are plain codes (``program``, ``counterparty``), and ``source``
  is a free drill-down reference the caller can join back to its own rows.
- A `JournalEntry` (book, business date, unique idempotency key, purpose, source run, optional
  ``reverses`` link) has `JournalLine`s (account, debit or credit, currency, dimensions, source).
- ``services.py`` is the only writer. ``journal_entries_post`` posts a whole batch in a few
  set-based statements: one multi-row ``INSERT … ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING`` for entries and one ``COPY FROM STDIN`` for all lines, in one transaction.

Enforced by the database (``ledger/sql/ledger_integrity.sql``), so raw SQL and COPY cannot get
round it:

1. Each line has exactly one of debit/credit > 0 (CHECK), a 3-letter currency (CHECK).
2. Every entry has lines and balances per currency: a DEFERRABLE INITIALLY DEFERRED constraint
   trigger on the *entry* row fires once per entry at commit and sums its lines (linear, not
   re-summed per line). The posting service fires it early with ``SET CONSTRAINTS …
   IMMEDIATE`` so errors surface inside the call.
3. Once per INSERT/COPY statement, a statement-level AFTER INSERT trigger on lines (transition
   table, one aggregate pass) checks the rows it added: each (entry, currency) balances — so
   however many statements add lines, the entry balances — the entry and account exist (lines
   carry no per-row FOREIGN KEY triggers, which cost 2 s per 100,000 lines), the account is in
   the entry's book and has the line's currency, and the entry was created by the current
   top-level transaction (a BEFORE INSERT trigger stamps ``created_txid =
   pg_current_xact_id()``), so nothing can be added to an entry committed earlier. Accounts
   with lines cannot be deleted.
4. Entries and lines are append-only: UPDATE and DELETE raise; TRUNCATE raises while the table
   holds rows unless the transaction deliberately ``SET LOCAL ledger.allow_truncate = 'on'``
   (``tests.support.ledger.ledger_purge``: a ``transaction=True`` test that commits ledger
   rows must call it before Django's flush). A correction is a reversing entry.
5. Nothing posts into a closed period: a BEFORE INSERT trigger on entries refuses a business
   date on or before the end of the book's latest CLOSED period. A closed period cannot be
   reopened or deleted.
6. ``idempotency_key`` is UNIQUE; an entry can be reversed at most once (``reverses`` UNIQUE).

Periods: one row per book per calendar month (``start_date`` = first of month). A month with no
row is open; the posting service creates the rows it posts into (OPEN) on demand.
``period_close`` closes a month only when every earlier period row of the book is closed, and a
close is a high-water mark: after closing March nothing can be dated on or before March 31, even
in a month that never had a row.

Chart of accounts (same code, same meaning in every book; loaded by migration 0003 and by the
idempotent ``services.chart_of_accounts_load``; constants in ``ledger.domain.chart``):

====  ==========================  =========  ======  ==================================
code  key                         type       normal  meaning
====  ==========================  =========  ======  ==================================
1001  CASH                        ASSET      DEBIT   cash / settlement account
1132  INTEREST_RECEIVABLE         ASSET      DEBIT   应收利息, accrued interest
1133  PENALTY_RECEIVABLE          ASSET      DEBIT   应收罚息
1221  DUE_FROM_PLATFORM           ASSET      DEBIT   collections the platform owes us
1222  DUE_FROM_GUARANTOR          ASSET      DEBIT   代偿 claims the guarantor owes us
1301  LOANS_RECEIVABLE            ASSET      DEBIT   贷款本金, principal outstanding
1304  LOSS_ALLOWANCE              ASSET      CREDIT  贷款损失准备 (contra-asset)
2241  DUE_TO_PLATFORM             LIABILITY  CREDIT  disbursement funding owed to platform
2242  FEE_PAYABLE                 LIABILITY  CREDIT  platform service fee payable
2243  CLAIM_PAYABLE_TO_GUARANTOR  LIABILITY  CREDIT  recoveries after a claim, owed on
2251  OVERPAYMENT_SUSPENSE        LIABILITY  CREDIT  溢缴款 / unapplied receipts
3001  PARTNER_FUNDING             EQUITY     CREDIT  memo books only: partner's funding
6011  INTEREST_INCOME             INCOME     CREDIT  利息收入
6012  PENALTY_INCOME              INCOME     CREDIT  罚息收入
6013  WRITE_OFF_RECOVERIES        INCOME     CREDIT  已核销贷款收回
6903  ROUNDING                    INCOME     CREDIT  尾差 rounding differences
6421  FEE_EXPENSE                 EXPENSE    DEBIT   手续费及佣金支出
6701  IMPAIRMENT_EXPENSE          EXPENSE    DEBIT   信用减值损失
7101  OFF_BALANCE_INTEREST        ASSET      DEBIT   表外应收未收利息 (off-balance memo)
7199  OFF_BALANCE_CONTRA          LIABILITY  CREDIT  表外科目对转: the other side of 7101
====  ==========================  =========  ======  ==================================

Off-balance interest is "single-sided" in Chinese practice; here it is booked against the
off-balance contra 7199 so every entry still balances and the trial balance still holds.
Memo books hold 1001, 1132, 1133, 1221, 1222, 1301, 3001, 6011, 6012, 6903, 7101, 7199.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from ledger.domain import chart

MONEY: dict[str, Any] = {"max_digits": 18, "decimal_places": 2}  # DecimalField(**MONEY)


class BookKind(models.TextChoices):
    """What a book is; the database refuses any other kind (``ledger_book_kind_valid``)."""

    GENERAL = "GENERAL", "General ledger"
    MEMO = "MEMO", "Memo book (a partner's position)"


class AccountType(models.TextChoices):
    ASSET = chart.ASSET, "Asset"
    LIABILITY = chart.LIABILITY, "Liability"
    EQUITY = chart.EQUITY, "Equity"
    INCOME = chart.INCOME, "Income"
    EXPENSE = chart.EXPENSE, "Expense"


class NormalBalance(models.TextChoices):
    DEBIT = chart.DEBIT, "Debit"
    CREDIT = chart.CREDIT, "Credit"


class PeriodStatus(models.TextChoices):
    OPEN = "OPEN", "Open"
    CLOSED = "CLOSED", "Closed"


class Book(models.Model):
    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=BookKind.choices)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=BookKind.values),
                                   name="ledger_book_kind_valid"),
        ]

    def __str__(self) -> str:
        return self.code


class Account(models.Model):
    book = models.ForeignKey(Book, on_delete=models.PROTECT, related_name="accounts")
    code = models.CharField(max_length=20)
    key = models.CharField(max_length=60, help_text="Stable name, e.g. LOANS_RECEIVABLE")
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=10, choices=AccountType.choices)
    normal_balance = models.CharField(max_length=6, choices=NormalBalance.choices)
    currency = models.CharField(max_length=3, default=chart.DEFAULT_CURRENCY)
    off_balance = models.BooleanField(default=False, help_text="表外 memo account")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["book__code", "code"]
        constraints = [
            models.UniqueConstraint(fields=["book", "code"], name="ledger_account_book_code_uniq"),
            models.UniqueConstraint(fields=["book", "key"], name="ledger_account_book_key_uniq"),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="ledger_account_currency_iso"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.book.code}:{self.code} {self.key}"


class Period(models.Model):
    book = models.ForeignKey(Book, on_delete=models.PROTECT, related_name="periods")
    start_date = models.DateField(help_text="First day of the month")
    status = models.CharField(max_length=6, choices=PeriodStatus.choices,
                              default=PeriodStatus.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["book__code", "start_date"]
        constraints = [
            models.UniqueConstraint(fields=["book", "start_date"],
                                    name="ledger_period_book_month_uniq"),
            models.CheckConstraint(condition=Q(start_date__day=1),
                                   name="ledger_period_starts_on_first"),
            models.CheckConstraint(
                condition=Q(status=PeriodStatus.OPEN, closed_at__isnull=True)
                | Q(status=PeriodStatus.CLOSED, closed_at__isnull=False),
                name="ledger_period_closed_at_iff_closed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.book.code} {self.start_date:%Y-%m} {self.status}"


class JournalEntry(models.Model):
    book = models.ForeignKey(Book, on_delete=models.PROTECT, related_name="entries")
    business_date = models.DateField()
    idempotency_key = models.CharField(max_length=200, unique=True)
    purpose = models.CharField(max_length=60)
    source_run = models.CharField(max_length=120, blank=True, default="", db_default="")
    memo = models.CharField(max_length=300, blank=True, default="", db_default="")
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    posted_at = models.DateTimeField(db_default=Now())
    # Stamped by a BEFORE INSERT trigger with pg_current_xact_id(): lines may only be added in
    # the transaction that created the entry.
    created_txid = models.BigIntegerField(null=True, editable=False)

    class Meta:
        ordering = ["book_id", "business_date", "id"]
        verbose_name_plural = "journal entries"
        indexes = [
            models.Index(fields=["book", "business_date"], name="ledger_entry_book_date"),
            models.Index(fields=["source_run"], name="ledger_entry_source_run"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.business_date} {self.purpose} ({self.idempotency_key})"


class JournalLine(models.Model):
    # No per-row FOREIGN KEY constraints on lines: PostgreSQL checks those with one RI trigger
    # per row at commit (about 2 s per 100,000 lines). The statement-level trigger
    # ledger_lines_after_insert checks both references set-based instead, and entries and
    # accounts with lines cannot be deleted (triggers), so the references stay valid.
    entry = models.ForeignKey(
        JournalEntry, on_delete=models.PROTECT, related_name="lines", db_constraint=False
    )
    # Indexed by ledger_line_account_entry (account, entry), which also serves account lookups.
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="lines", db_index=False,
        db_constraint=False,
    )
    debit = models.DecimalField(**MONEY, default=0, db_default=0)
    credit = models.DecimalField(**MONEY, default=0, db_default=0)
    currency = models.CharField(max_length=3)
    program = models.CharField(max_length=64, blank=True, default="", db_default="")
    counterparty = models.CharField(max_length=64, blank=True, default="", db_default="")
    source = models.CharField(max_length=200, blank=True, default="", db_default="")

    class Meta:
        ordering = ["entry_id", "id"]
        indexes = [
            models.Index(fields=["account", "entry"], name="ledger_line_account_entry"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(debit__gt=0, credit=0) | Q(debit=0, credit__gt=0)),
                name="ledger_line_one_side",
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="ledger_line_currency_iso"
            ),
        ]

    def __str__(self) -> str:
        side = f"Dr {self.debit}" if self.debit else f"Cr {self.credit}"
        return f"{self.account_id} {side} {self.currency}"
