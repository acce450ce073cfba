"""`manage.py db_app_role [--role lending_app] [--password-env VAR]`: create or re-grant the
application's database role (controls.db_roles). Run it as the owner role after every
`migrate`; point the application's DATABASE_URL at that role."""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandError

from controls.db_roles import APP_ROLE, app_role_setup


class Command(BaseCommand):
    help = "Create or re-grant the non-superuser database role the application connects as."

    def add_arguments(self, parser):
        parser.add_argument("--role", default=APP_ROLE)
        parser.add_argument("--password-env", default="",
                            help="Name of an environment variable holding the role's password "
                                 "(the role can then log in); unset: NOLOGIN, for SET ROLE.")

    def handle(self, *args, role, password_env, **options):
        password = None
        if password_env:
            password = os.environ.get(password_env)
            if not password:
                raise CommandError(f"{password_env} is not set")
        try:
            statements = app_role_setup(role=role, password=password)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        for sql in statements:
            self.stdout.write(" ".join(sql.split()) + ";")
        self.stdout.write(self.style.SUCCESS(f"role {role}: {len(statements)} statements"))
