"""Render the morning dashboard against the current database; print its time and queries."""

from __future__ import annotations

import time

from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.base import SessionBase
from django.core.management.base import BaseCommand
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from reports import services, views


class Command(BaseCommand):
    help = ("Render the staff dashboard (as a staff user, in process) and print the render "
            "time and the number of SQL queries. The portfolio snapshot of a newly settled day "
            "(made once a day by a worker, off the request) is made first and timed apart.")

    def add_arguments(self, parser):
        parser.add_argument("--repeat", type=int, default=3, help="renders after the first")

    def handle(self, *args, repeat: int, **options):
        from lending.models import Loan

        request = RequestFactory().get("/reports/")
        request.user = get_user_model()(username="dashboard-timing", is_staff=True,
                                        is_active=True, is_superuser=True)
        request.session = SessionBase()
        loans = Loan.objects.count()
        self.stdout.write(f"loans in the database: {loans:,}")
        started = time.perf_counter()
        rows = services.portfolio_days_build()
        self.stdout.write(f"portfolio snapshot (once per settled day, by a worker): "
                          f"{(time.perf_counter() - started) * 1000:.1f} ms, {rows} rows")
        for i in range(1 + repeat):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = views.dashboard(request)
                seconds = time.perf_counter() - started
            assert response.status_code == 200, response.status_code
            label = f"render {i + 1}"
            self.stdout.write(f"{label}: {seconds * 1000:.1f} ms, {len(queries)} queries, "
                              f"{len(response.content):,} bytes")
