"""Render the morning dashboard against the current database; print its time and queries."""

from __future__ import annotations

import time

from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.base import SessionBase
from django.core.management.base import BaseCommand
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from reports import views


class Command(BaseCommand):
    help = ("Render the staff dashboard (as a staff user, in process) and print the render "
            "time and the number of SQL queries; the first render may store the portfolio "
            "snapshot of a newly settled day, the next ones only read.")

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
        for i in range(1 + repeat):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = views.dashboard(request)
                seconds = time.perf_counter() - started
            assert response.status_code == 200, response.status_code
            label = "first render" if i == 0 else f"render {i + 1}"
            self.stdout.write(f"{label}: {seconds * 1000:.1f} ms, {len(queries)} queries, "
                              f"{len(response.content):,} bytes")
