"""The settlement benchmark keeps its state in a model of its own (benchmarks.BenchPortfolio),
not in the bench platform's legal name; a database benchmarked before the model keeps its
portfolio (the data migration reads the old legal-name markers)."""

from __future__ import annotations

import importlib
from datetime import date

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction

from benchmarks.models import BenchPortfolio
from benchmarks.settlement import portfolio as bench
from partners.models import Partner, PartnerKind
from tests.factories import lending as f

pytestmark = pytest.mark.django_db


def _database() -> str:
    with connection.cursor() as cur:
        cur.execute("SELECT current_database()")
        return cur.fetchone()[0]


def test_setup_records_a_generation_and_leaves_the_legal_name_alone():
    f.bank()
    assert bench.platform_code() == "BENCHP1" and bench.portfolio_marker() is None
    bench.bench_setup()
    platform = bench._current()
    row = BenchPortfolio.objects.get()
    assert (row.partner, row.generation, row.loans, row.retired_at) == (platform, 1, None, None)
    assert platform.legal_name == "Bench platform"
    bench.portfolio_day_record(date(2023, 6, 5))
    row.refresh_from_db()
    assert row.last_day == date(2023, 6, 5)

    bench.bench_setup()  # idempotent: the same generation
    assert BenchPortfolio.objects.count() == 1


def test_a_wipe_retires_the_generation_and_the_next_build_is_a_new_one(monkeypatch):
    f.bank()
    bench.bench_setup()
    BenchPortfolio.objects.update(loans=300)
    assert bench.portfolio_marker() == 300
    monkeypatch.setattr(bench, "_exec", lambda sql, params=None: 0)  # no VACUUM in a transaction
    bench.portfolio_wipe(database_name=_database(), say=lambda *_: None)

    old = BenchPortfolio.objects.get()
    assert old.retired_at is not None and bench._current() is None
    assert bench.platform_code() == "BENCHP2"
    bench.bench_setup()
    assert bench._current().code == "BENCHP2"
    assert list(BenchPortfolio.objects.filter(retired_at=None)
                .values_list("generation", flat=True)) == [2]


def test_at_most_one_current_generation():
    f.bank()
    bench.bench_setup()
    other = Partner.objects.create(code="BENCHP9", legal_name="x", kind=PartnerKind.PLATFORM)
    with pytest.raises(IntegrityError), transaction.atomic():
        BenchPortfolio.objects.create(partner=other, generation=9)


def test_the_data_migration_reads_the_old_legal_name_markers():
    f.bank()
    for code, name in (("BENCHP1", "retired bench platform G=1"),
                       ("BENCHP2", "Bench platform N=1000000 G=2"),
                       ("BENCHX", "Bench platform N=5 G=7")):  # not a bench platform code
        Partner.objects.create(code=code, legal_name=name, kind=PartnerKind.PLATFORM)
    migration = importlib.import_module("benchmarks.migrations.0002_portfolio_from_legal_names")
    migration.forwards(apps, None)

    rows = {r.partner.code: r for r in BenchPortfolio.objects.select_related("partner")}
    assert set(rows) == {"BENCHP1", "BENCHP2"}
    assert (rows["BENCHP1"].generation, rows["BENCHP1"].retired_at is not None) == (1, True)
    assert (rows["BENCHP2"].generation, rows["BENCHP2"].loans,
            rows["BENCHP2"].retired_at) == (2, 1_000_000, None)
    assert bench.platform_code() == "BENCHP2" and bench.portfolio_marker() == 1_000_000
