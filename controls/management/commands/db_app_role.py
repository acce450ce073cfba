"""`manage.py db_app_role [--role lending_app] [--password-env VAR]`: create or re-grant the
application's database role (controls.db_roles). Run it as the owner role after every
`migrate`; point the application's DATABASE_URL at that role."""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from controls.db_backend.base import app_role_name, as_owner
from controls.db_roles import APP_ROLE, app_role_setup


class Command(BaseCommand):
    help = "Create or re-grant the non-superuser database role the application connects as."

    def add_arguments(self, parser):
        parser.add_argument("--role", default="",
                            help="The role (default: the one the application logs in as, "
                                 f"else {APP_ROLE}).")
        parser.add_argument("--password-env", default="",
                            help="Name of an environment variable holding the role's password "
                                 "(the role can then log in); unset: the role the application logs "
                                 "in as may log in without one where the server trusts the "
                                 "connection (development, tests), another role is NOLOGIN.")

    def handle(self, *args, role, password_env, **options):
        password = None
        if password_env:
            password = os.environ.get(password_env)
            if not password:
                raise CommandError(f"{password_env} is not set")
        connection = connections[DEFAULT_DB_ALIAS]
        role = role or app_role_name(connection) or APP_ROLE
        try:
            with as_owner(connection):  # the owner grants, when the app has its own login
                statements = app_role_setup(role=role, password=password,
                                            login=app_role_name(connection) == role)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        for sql in statements:
            self.stdout.write(" ".join(sql.split()) + ";")
        self.stdout.write(self.style.SUCCESS(f"role {role}: {len(statements)} statements"))
