"""`manage.py migrate`, run as the owner role, then the application role set up (issue 21).

Django's `migrate` with one difference: when the application logs in as its own role (the
`OWNER` of its connection settings is another user, controls.db_backend), the migrations run
logged in as the owner — who owns every table they create — and the application role is then
created or re-granted (controls.db_roles, what `manage.py db_app_role` does), so that every
new table has its grants before the application connects. Test databases are migrated this
way too (Django's test set-up calls `migrate`).
"""

from __future__ import annotations

from contextlib import ExitStack

from django.core.management.base import CommandError
from django.core.management.commands.migrate import Command as MigrateCommand
from django.db import DEFAULT_DB_ALIAS, connections

from controls.db_backend.base import app_role_name, as_owner
from controls.db_roles import app_role_setup


class Command(MigrateCommand):
    def check(self, *args, **kwargs):
        """The system checks before migrating run as the owner too: a check that asks the
        server (a constraint with `nulls_distinct`, which needs the server's version) must not
        log in as an application role the migration has not created yet (a new cluster)."""
        with ExitStack() as stack:
            for alias in kwargs.get("databases") or [DEFAULT_DB_ALIAS]:
                stack.enter_context(as_owner(connections[alias]))
            return super().check(*args, **kwargs)

    def handle(self, *args, **options):
        connection = connections[options["database"]]
        role = app_role_name(connection)
        if role is None and connection.settings_dict.get("APP_ROLE") == (
                connection.settings_dict["USER"]):
            raise CommandError(
                f"DATABASE_URL logs in as the application role {connection.settings_dict['USER']}"
                ", which owns no table and cannot migrate: set DATABASE_OWNER_URL to the owner "
                "role's URL (docs/security.md)")
        password = connection.settings_dict.get("PASSWORD") or None
        with as_owner(connection):
            super().handle(*args, **options)
            if role is not None:
                app_role_setup(role=role, password=password, login=True,
                               using=options["database"])
                if options["verbosity"] >= 1:
                    self.stdout.write(f"  Application role {role}: set up (controls.db_roles)")
