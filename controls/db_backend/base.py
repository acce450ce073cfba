"""PostgreSQL backend with an owner beside the application role (see the package's docstring)."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.postgresql import base, creation, operations

# settings_dict keys: OWNER, the owner's {"USER", "PASSWORD", "HOST", "PORT"} (None: the
# connection's own user is the owner, e.g. DATABASE_APP_ROLE= empty); AS_OWNER, set while a
# connection is logged in as the owner.
OWNER = "OWNER"
AS_OWNER = "AS_OWNER"


def owner_settings(settings_dict: dict) -> dict | None:
    """The owner's login settings, or None when this connection's user is the owner."""
    if settings_dict.get(AS_OWNER):
        return None
    return settings_dict.get(OWNER) or None


@contextmanager
def as_owner(connection) -> Iterator[None]:
    """The connection logs in as the owner for the block (closed before and after: a new
    session each time). For management commands (migrate), never for a request."""
    owner = owner_settings(connection.settings_dict)
    if owner is None:
        yield
        return
    if connection.in_atomic_block:
        raise RuntimeError("as_owner() cannot switch a connection inside a transaction")
    saved = {key: connection.settings_dict.get(key) for key in owner}
    connection.close()
    connection.settings_dict.update(owner)
    connection.settings_dict[AS_OWNER] = True
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)
        connection.settings_dict.pop(AS_OWNER, None)


def owner_connection(connection):
    """A separate new connection to the same database as the owner (the caller closes it).
    Used by `flush` and by test fixtures that need owner rights; it does not see the other
    connection's uncommitted rows."""
    other = connection.copy()
    owner = owner_settings(connection.settings_dict)
    if owner is not None:
        other.settings_dict.update(copy.deepcopy(owner))
        other.settings_dict[AS_OWNER] = True
    return other


def app_role_name(connection) -> str | None:
    """The application role this connection logs in as (None: it logs in as the owner)."""
    if not connection.settings_dict.get(OWNER):
        return None
    return connection.settings_dict.get("APP_ROLE") or connection.settings_dict["USER"]


class DatabaseCreation(creation.DatabaseCreation):
    """The test database is created, migrated (which sets up the application role) and
    dropped by the owner; the tests then connect as the application role."""

    def create_test_db(self, *args, **kwargs):
        with as_owner(self.connection):
            return super().create_test_db(*args, **kwargs)

    def destroy_test_db(self, *args, **kwargs):
        with as_owner(self.connection):
            return super().destroy_test_db(*args, **kwargs)


class DatabaseOperations(operations.DatabaseOperations):
    def execute_sql_flush(self, sql_list):
        """`flush` (a test's teardown) truncates as the owner: the application role may not.
        The ledger's TRUNCATE guard still applies (tests.support.ledger.ledger_purge)."""
        if owner_settings(self.connection.settings_dict) is None:
            return super().execute_sql_flush(sql_list)
        other = owner_connection(self.connection)
        try:
            other.ensure_connection()
            other.set_autocommit(False)
            with other.cursor() as cursor:
                for sql in sql_list:
                    cursor.execute(sql)
            other.commit()
        finally:
            other.close()


# The audit triggers (django-pghistory, django-pgtrigger) read two settings per row, each in a
# PL/pgSQL block that catches the error of an undefined setting: outside a request neither is
# defined, so every audited row written by a run or a command rolled back a subtransaction,
# and a transaction gathering those slows down quadratically — a reconciliation inserting
# 50,000 breaks spent 52 s in the audit trigger against 1.3 s with the settings defined (the
# first Monday of the million-loan bench, 229,000 differences, did not finish in 20 minutes).
# Each connection therefore defines both at once: no trigger ignored, and the changes made
# outside a request attached to one audit context per connection that says so (a request's
# own context, set per statement by pghistory, takes precedence within its transaction).
_BATCH_CONTEXT = json.dumps({"source": "batch",
                             "note": "a change outside a web request (run, command, worker)"})


class DatabaseWrapper(base.DatabaseWrapper):
    creation_class = DatabaseCreation
    ops_class = DatabaseOperations

    def init_connection_state(self):
        super().init_connection_state()
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('pgtrigger.ignore', '{}', false),"
                " set_config('pghistory.context_id', %s, false),"
                " set_config('pghistory.context_metadata', %s, false)",
                [str(uuid.uuid4()), _BATCH_CONTEXT])
        if not self.get_autocommit():
            self.connection.commit()

    def get_new_connection(self, conn_params):
        try:
            return super().get_new_connection(conn_params)
        except base.Database.OperationalError as exc:
            role = self.settings_dict.get("USER")
            if f'role "{role}" does not exist' in str(exc) or (
                    f'role "{role}" is not permitted to log in' in str(exc)):
                raise ImproperlyConfigured(
                    f"the application's database role {role!r} is not set up in this "
                    "cluster: run `manage.py migrate` (it runs as the owner and sets the role "
                    "up), or `manage.py db_app_role` (docs/security.md)") from exc
            raise
