"""Take the README's screenshots from the current database (run `make demo` first)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from lending.settlement.models import Statement
from partners.models import PartnerKind, PartnerUser
from reports import screenshots, services
from reports.screenshots import ScreenshotError, Shot

DEFAULT_OUT = Path(settings.BASE_DIR) / "docs" / "screenshots"


class Command(BaseCommand):
    help = ("Save PNG screenshots of the morning dashboard, a statement, the breaks list and a "
            "partner's statement page (docs/screenshots/ by default), taken in headless "
            "Chromium from the current database: run `make demo` first.")

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                            help="directory of the PNGs (default: docs/screenshots)")
        parser.add_argument("--staff", default="",
                            help="staff username to look as (default: the first superuser)")
        parser.add_argument("--partner-user", default="",
                            help="partner username (default: the first platform's user)")

    def handle(self, *args, out: Path, staff: str, partner_user: str, **options):
        staff_user = self._staff(staff)
        link = self._partner_link(partner_user)
        statement = self._statement(partner_id=None)
        own = self._statement(partner_id=link.partner_id)
        shots = [
            Shot("dashboard", "/reports/", "#trends svg"),
            Shot("statement", f"/reports/statements/{statement.pk}/", "#statement-lines"),
            Shot("breaks", "/reports/breaks/", "#breaks"),
            Shot("partner-statement", f"/reports/partner/statements/{own.pk}/",
                 "#statement-lines", as_partner=True),
        ]
        # the dashboard's portfolio of the latest settled day (a worker's job after a run)
        services.portfolio_days_build()
        sessions = {False: screenshots.session_for(staff_user),
                    True: screenshots.session_for(link.user)}
        try:
            with screenshots.served() as base_url, screenshots.chromium() as driver:
                written = screenshots.take(driver, base_url, shots, sessions, out)
        except ScreenshotError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            for key in sessions.values():
                screenshots.session_delete(key)
        for path in written:
            self.stdout.write(f"{path} ({path.stat().st_size:,} bytes)")

    def _staff(self, username: str):
        users = get_user_model().objects.filter(is_active=True, is_staff=True)
        user = (users.filter(username=username) if username
                else users.filter(is_superuser=True)).order_by("pk").first()
        if user is None:
            raise CommandError(f"no active staff user {username!r}" if username else
                               "no active superuser: run `make demo` or pass --staff")
        return user

    def _partner_link(self, username: str) -> PartnerUser:
        links = PartnerUser.objects.select_related("user", "partner").filter(
            user__is_active=True, partner__kind=PartnerKind.PLATFORM)
        if username:
            links = links.filter(user__username=username)
        link = links.order_by("partner__code", "pk").first()
        if link is None:
            raise CommandError(f"no active partner user {username!r}" if username else
                               "no partner user of a platform: run `make demo` first")
        return link

    def _statement(self, *, partner_id: int | None) -> Statement:
        """The latest statement with the most lines (of the partner's, if given)."""
        qs = Statement.objects.annotate(n=Count("lines")).filter(n__gt=0)
        if partner_id is not None:
            qs = qs.filter(counterparty_id=partner_id)
        st = qs.order_by("-business_date", "-n", "pk").first()
        if st is None:
            raise CommandError("no statement with lines: run `make demo` first")
        return st
