"""The posting benchmark's own ledger book: a GENERAL book of the benchmarks' code that holds
the whole chart.

The product posts only into BANK_GL and the partners' memo books (ledger.services); the posting
benchmark (bench_ledger) posts random lines over every account of the chart, so it keeps its
entries in a book of its own, made here rather than by a product service. The ledger has no
benchmark kind of book (its kinds are the product's: GENERAL and MEMO, enforced by the
database); what makes this book the benchmark's is its code, which only the benchmarks use.
"""

from __future__ import annotations

from django.db import transaction

from ledger.domain import chart
from ledger.models import Account, Book, BookKind


@transaction.atomic
def scratch_book_ensure(*, code: str) -> Book:
    """The benchmark book ``code`` with every account of the chart, created if missing."""
    book, _ = Book.objects.get_or_create(
        code=code, defaults={"name": f"Benchmark book {code} (bench_ledger)",
                             "kind": BookKind.GENERAL})
    existing = set(Account.objects.filter(book=book).values_list("code", flat=True))
    Account.objects.bulk_create(
        [Account(book=book, code=s.code, key=s.key, name=s.name, type=s.type,
                 normal_balance=s.normal_balance, currency=chart.DEFAULT_CURRENCY,
                 off_balance=s.off_balance)
         for s in chart.CHART if s.code not in existing],
        ignore_conflicts=True)
    return book
