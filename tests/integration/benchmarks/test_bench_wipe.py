"""`bench_settlement --fresh`: the wipe deletes the scratch portfolio and vacuums the emptied
tables, so a rebuild reuses their pages instead of growing them by a whole portfolio; and it
runs only against a database named explicitly (--database-name or BENCH_DATABASE)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from benchmarks.database import WipeRefused
from benchmarks.settlement import portfolio as bench
from lending.models import Loan
from tests.factories import lending as f
from tests.support.ledger import ledger_purge

pytestmark = pytest.mark.django_db(transaction=True)  # VACUUM runs outside a transaction


def _bytes(table: str) -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_relation_size(%s::regclass)", [table])
        return cur.fetchone()[0]


def _database() -> str:
    with connection.cursor() as cur:
        cur.execute("SELECT current_database()")
        return cur.fetchone()[0]


@pytest.fixture
def committed(transactional_db, monkeypatch):
    monkeypatch.delenv("BENCH_DATABASE", raising=False)
    yield
    ledger_purge()  # the warm-up days posted: the ledger refuses the flush's TRUNCATE


@pytest.mark.db_owner  # the owner: VACUUM gives pages back only for the tables' owner
def test_a_wipe_deletes_the_portfolio_and_gives_its_pages_back(committed):
    f.bank()  # made by a data migration, which an earlier transactional test's flush removed
    bench.portfolio_build(300, say=lambda *_: None)
    platform = bench._current()
    assert Loan.objects.filter(partner=platform).count() == 300
    before = {t: _bytes(t) for t in ("lending_loan", "lending_installment", "lending_loanshare",
                                     "lending_loansnapshot")}
    assert all(before.values())

    bench.portfolio_wipe(database_name=_database(), say=lambda *_: None)

    assert not Loan.objects.filter(partner=platform).exists()
    assert bench._current() is None  # retired: the next build is a new generation
    # the bench's rows were the only ones in these tables: every page was empty and cut off
    assert {t: _bytes(t) for t in before} == dict.fromkeys(before, 0)


def test_the_wipe_refuses_without_the_database_name_or_against_another(committed,
                                                                        monkeypatch):
    f.bank()
    bench.bench_setup()  # the bench platform: what a wipe would retire
    platform = bench._current()
    current = _database()

    with pytest.raises(WipeRefused, match=f"--database-name {current} "):
        bench.portfolio_wipe(database_name=None, say=lambda *_: None)
    with pytest.raises(WipeRefused, match=f"'bench_other', but the connection is on "
                                          f"'{current}'"):
        bench.portfolio_wipe(database_name="bench_other", say=lambda *_: None)
    monkeypatch.setenv("BENCH_DATABASE", current + "_x")
    with pytest.raises(WipeRefused, match=f"BENCH_DATABASE names the database '{current}_x'"):
        bench.portfolio_wipe(database_name=None, say=lambda *_: None)
    assert bench._current() == platform  # nothing retired

    monkeypatch.setenv("BENCH_DATABASE", current)  # named by the environment: it runs
    bench.portfolio_wipe(database_name=None, say=lambda *_: None)
    assert bench._current() is None


def test_the_command_refuses_a_rebuild_before_building(committed):
    """`--fresh` over a kept portfolio without the name fails at once, builds nothing."""
    f.bank()
    bench.bench_setup()
    platform = bench._current()

    for args in (["--fresh"], ["--fresh", "--build-only"],
                 ["--fresh", "--database-name", "postgres"]):
        with pytest.raises(CommandError, match="nothing wiped|named explicitly"):
            call_command("bench_settlement", "--loans", "5", *args)

    assert bench._current() == platform
    assert not Loan.objects.filter(partner=platform).exists()
