"""MANUAL_JOURNAL: a manual journal entry, posted through the ledger's service on approval."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from controls.models import ChangeRequest
from controls.requests.base import Handler, RequestError

# payload: {"book": "BANK_GL", "business_date": "2026-01-15", "memo": "...",
#           "lines": [{"account": "1132", "debit": "100.00", "credit": "0", "currency": "CNY",
#                      "program": "", "counterparty": ""}, ...]}
# Posted on approval through the ledger's service (journal_entries_post: balanced per
# currency, open period, known active accounts), with the idempotency key manual:<request id>,
# so an entry is posted once whatever happens to the request afterwards.

MANUAL_PURPOSE = "MANUAL_JOURNAL"
_MAX_AMOUNT = Decimal(10) ** 16  # the ledger's amounts: numeric(18, 2)
_LINE_KEYS = {"account", "debit", "credit", "currency", "program", "counterparty"}


def manual_journal_key(req: ChangeRequest) -> str:
    return f"manual:{req.pk}"


def _amount(req: ChangeRequest, n: int, name: str, value) -> Decimal:
    text = "0" if value in (None, "") else str(value).strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise RequestError(f"{req}: line {n}: {name} {value!r} is not an amount") from None
    if (not amount.is_finite() or amount < 0 or amount >= _MAX_AMOUNT
            or amount != amount.quantize(Decimal("0.01"))):
        raise RequestError(f"{req}: line {n}: {name} {value!r} must be 0 or more, in cents, "
                           f"below {_MAX_AMOUNT:,}")
    return amount


def _manual_draft(req: ChangeRequest):
    from ledger.domain.drafts import EntryDraft, LineDraft, drafts_check
    from ledger.domain.errors import LedgerError

    payload = req.payload or {}
    unknown = set(payload) - {"book", "business_date", "memo", "lines"}
    if unknown:
        raise RequestError(f"{req}: unknown field(s) {', '.join(sorted(unknown))}")
    book = str(payload.get("book") or "").strip()
    if not book:
        raise RequestError(f"{req}: a manual journal names its book")
    try:
        day = date.fromisoformat(str(payload.get("business_date") or ""))
    except ValueError:
        raise RequestError(f"{req}: business_date {payload.get('business_date')!r} is not a "
                           "date (YYYY-MM-DD)") from None
    raw_lines = payload.get("lines")
    if not isinstance(raw_lines, list) or len(raw_lines) < 2:
        raise RequestError(f"{req}: a manual journal has at least two lines")
    lines = []
    for n, raw in enumerate(raw_lines, start=1):
        if not isinstance(raw, dict) or not raw.get("account") or set(raw) - _LINE_KEYS:
            raise RequestError(f"{req}: line {n} needs an account, a debit or a credit "
                               f"(and only {', '.join(sorted(_LINE_KEYS))})")
        debit = _amount(req, n, "debit", raw.get("debit"))
        credit = _amount(req, n, "credit", raw.get("credit"))
        if (debit > 0) == (credit > 0):
            raise RequestError(f"{req}: line {n} has a debit or a credit, one of them only")
        lines.append(LineDraft(account=str(raw["account"]).strip(), debit=debit, credit=credit,
                               currency=str(raw.get("currency") or "CNY").strip(),
                               program=str(raw.get("program") or "").strip(),
                               counterparty=str(raw.get("counterparty") or "").strip(),
                               source=f"request:{req.pk}"))
    memo = str(payload.get("memo") or req.note or "").strip()
    draft = EntryDraft(book=book, business_date=day, idempotency_key=manual_journal_key(req),
                       purpose=MANUAL_PURPOSE, lines=tuple(lines),
                       source_run=f"request:{req.pk}", memo=memo[:500])
    try:
        drafts_check([draft])  # shapes, amounts, balance per currency
    except LedgerError as exc:
        raise RequestError(f"{req}: {exc}") from exc
    return draft


def _manual_check(req: ChangeRequest) -> None:
    """What the ledger would refuse, said at submission: book, accounts, period, balance."""
    from ledger.models import Account, Book, Period

    draft = _manual_draft(req)
    book = Book.objects.filter(code=draft.book).first()
    if book is None:
        raise RequestError(f"{req}: book {draft.book!r} does not exist")
    accounts = {a.code: a for a in Account.objects.filter(book=book)}
    for n, line in enumerate(draft.lines, start=1):
        account = accounts.get(line.account)
        if account is None or not account.is_active:
            state = "unknown" if account is None else "inactive"
            raise RequestError(f"{req}: line {n}: account {line.account!r} is {state} in "
                               f"{draft.book}")
        if account.currency != line.currency:
            raise RequestError(f"{req}: line {n}: currency {line.currency} differs from "
                               f"account {line.account}'s {account.currency}")
    closed = (Period.objects.filter(book=book, status="CLOSED")
              .order_by("-start_date").values_list("start_date", flat=True).first())
    if closed is not None and draft.business_date.replace(day=1) <= closed:
        raise RequestError(f"{req}: business date {draft.business_date} is in a closed period "
                           f"of {draft.book} (closed through {closed:%Y-%m})")


def _manual_apply(req: ChangeRequest) -> str:
    from ledger.domain.errors import LedgerError
    from ledger.services import journal_entries_post

    draft = _manual_draft(req)
    try:
        result = journal_entries_post(drafts=[draft])
    except LedgerError as exc:
        raise RequestError(f"{req}: the ledger refused the entry: {exc}") from exc
    if result.skipped_count:
        raise RequestError(f"{req}: entry {draft.idempotency_key} is already posted")
    total = sum((line.debit for line in draft.lines), Decimal(0))
    return (f"journal entry {result.entry_ids[draft.idempotency_key]} posted to {draft.book} "
            f"on {draft.business_date}: {len(draft.lines)} lines, {total} debit = credit")


HANDLER = Handler(_manual_check, _manual_apply, one_open_per_target=False)
