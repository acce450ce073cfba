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
