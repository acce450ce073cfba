"""`bench_settlement --fresh`: the wipe deletes the scratch portfolio and vacuums the emptied
tables, so a rebuild reuses their pages instead of growing them by a whole portfolio."""

from __future__ import annotations

import pytest
from django.db import connection

from benchmarks.settlement import portfolio as bench
from lending.models import Loan
from tests.factories import lending as f
from tests.support.ledger import ledger_purge

pytestmark = pytest.mark.django_db(transaction=True)  # VACUUM runs outside a transaction


def _bytes(table: str) -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_relation_size(%s::regclass)", [table])
        return cur.fetchone()[0]


@pytest.fixture
def committed(transactional_db):
    yield
    ledger_purge()  # the warm-up days posted: the ledger refuses the flush's TRUNCATE


def test_a_wipe_deletes_the_portfolio_and_gives_its_pages_back(committed):
    f.bank()  # made by a data migration, which an earlier transactional test's flush removed
    bench.portfolio_build(300, say=lambda *_: None)
    platform = bench._current()
    assert Loan.objects.filter(partner=platform).count() == 300
    before = {t: _bytes(t) for t in ("lending_loan", "lending_installment", "lending_loanshare")}
    assert all(before.values())

    bench.portfolio_wipe(say=lambda *_: None)

    assert not Loan.objects.filter(partner=platform).exists()
    assert bench._current() is None  # retired: the next build is a new generation
    # the bench's rows were the only ones in these tables: every page was empty and cut off
    assert {t: _bytes(t) for t in before} == dict.fromkeys(before, 0)
