"""Shared test fixtures: a real PostgreSQL (embedded or DATABASE_URL), a real Celery worker."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings as hypothesis_settings

hypothesis_settings.register_profile("ci", deadline=None, print_blob=True)
hypothesis_settings.load_profile("ci")



@pytest.fixture
def staff_user(db, django_user_model):
    return django_user_model.objects.create_superuser(
        username="staff", email="staff@example.test", password="staff-pass-1"
    )


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def broker_url() -> str:
    """The real broker's URL; skip (locally) or fail (CI sets REQUIRE_BROKER=1) without one."""
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url:
        if os.environ.get("REQUIRE_BROKER"):
            pytest.fail("REQUIRE_BROKER is set but CELERY_BROKER_URL is not")
        pytest.skip("no broker configured: set CELERY_BROKER_URL (CI does) to run worker tests")
    return url


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache: the API throttles count calls there
    (partners/throttles.py), and one test's calls must not throttle the next."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _celery_in_process_unless_worker_test(request):
    """Tests that do not start real workers run tasks in-process, even where CI configures a
    broker: their data is uncommitted (inside the test transaction) and no worker could see it.
    Tests marked `worker` use the real broker and real worker processes."""
    from config.celery import app

    if request.node.get_closest_marker("worker"):
        yield
        return
    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = before


def _database_fixture(request) -> str | None:
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    if ({"transactional_db", "live_server", "django_db_serialized_rollback"} & names
            or (marker and marker.kwargs.get("transaction"))):
        return "transactional_db"
    if marker or "db" in names:
        return "db"
    return None


@pytest.fixture(autouse=True)
def _reference_rows_after_a_flush(request):
    """A transactional test ends with a flush of every table, which also removes the rows that
    data migrations load (the bank's 2026 calendar, the bank partner). Before a database test
    they are put back when missing, so each test sees the database `migrate` makes, whatever
    order the tests run in (pytest-django runs the transactional tests last)."""
    which = _database_fixture(request)
    if which is not None:
        request.getfixturevalue(which)
        import importlib

        from django.apps import apps

        from partners.models import CalendarDay, Partner

        if not CalendarDay.objects.filter(day__year=2026).exists():
            importlib.import_module("partners.migrations.0006_china_2026_holidays").load(
                apps, None)
        if not Partner.objects.filter(kind="BANK").exists():
            importlib.import_module("partners.migrations.0002_the_bank").create_bank(apps, None)
        from controls.models import LimitBankFigure, LimitThreshold

        if not LimitThreshold.objects.exists():  # the regulatory limits' defaults (issue 21)
            importlib.import_module("controls.migrations.0007_limits").seed_thresholds(
                apps, None)
        # The bank's figures staff enter (R2/R3 denominators; DOMAIN §1.2's worked example):
        # without them every run raises "figure missing" alerts. Tests of the limits set
        # their own (tests/integration/controls/test_limits.py removes these).
        if not LimitBankFigure.objects.exists():
            for figure, amount in (("NET_TIER1_CAPITAL", "20000000000"),
                                   ("TOTAL_LOANS", "300000000000")):
                LimitBankFigure.objects.create(figure=figure, amount=amount,
                                               effective_from="2000-01-01", note="tests")
    yield


# --- Tests that need the owner role (issue 21) --------------------------------------------------
# The tests connect as the application role (lending_app, config/settings.py), which may not
# UPDATE or DELETE posted journals, TRUNCATE or VACUUM. A test of what the database's triggers
# refuse even to the owner, or of a development tool that needs the owner's rights, is marked
# `db_owner`: its `default` connection then logs in as the owner, from before its fixtures open
# the test's transaction until after they close it (controls.db_backend.base.as_owner).


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "db_owner: the test's database connection logs in as the owner role, not "
                   "the application role (triggers that bind the owner too, dev tools)")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if item.get_closest_marker("db_owner"):
        from django.db import connections

        from controls.db_backend.base import as_owner

        owner = as_owner(connections["default"])
        owner.__enter__()
        item._db_owner = owner


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    owner = getattr(item, "_db_owner", None)
    if owner is not None:
        del item._db_owner
        owner.__exit__(None, None, None)
