"""The benchmark's own ledger book: a SCRATCH book holding the whole chart.

The product posts only into BANK_GL and the partners' memo books (ledger.services); the posting
benchmark (bench_ledger) posts random lines over every account of the chart, so it keeps its
entries in a book of its own kind, made here rather than by a product service.
"""

from __future__ import annotations

from django.db import transaction

from ledger.domain import chart
from ledger.models import Account, Book, BookKind


@transaction.atomic
def scratch_book_ensure(*, code: str) -> Book:
    """The SCRATCH book ``code`` with every account of the chart, created if missing."""
    book, _ = Book.objects.get_or_create(
        code=code, defaults={"name": f"Scratch book {code}", "kind": BookKind.SCRATCH})
    existing = set(Account.objects.filter(book=book).values_list("code", flat=True))
    Account.objects.bulk_create(
        [Account(book=book, code=s.code, key=s.key, name=s.name, type=s.type,
                 normal_balance=s.normal_balance, currency=chart.DEFAULT_CURRENCY,
                 off_balance=s.off_balance)
         for s in chart.CHART if s.code not in existing],
        ignore_conflicts=True)
    return book
