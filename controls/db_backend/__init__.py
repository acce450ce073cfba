"""The PostgreSQL backend the project's connections use (issue 21, database roles).

The application's connection (`default`) logs in as the application role (`lending_app`:
no superuser, owns no table, see controls.db_roles). The owner role, which owns every table
and runs the migrations, is kept beside it in the connection's settings (`OWNER`: user,
password, host, port) and used only where its rights are the point:

- `migrate` (controls/management/commands/migrate.py) and `db_app_role` run as the owner;
- creating and dropping the test database (pytest-django, Django's test runner);
- `flush`: its TRUNCATE goes through a separate owner connection (the application role has no
  TRUNCATE — Django's teardown of a `transaction=True` test flushes);
- `owner_connection()`: a separate owner connection for a test fixture that needs owner rights.

Nothing in the application's own code paths switches to the owner: the role it connects as is
its login, so no statement it runs (`SET ROLE`, `SET SESSION AUTHORIZATION`,
`RESET ROLE`) can bring the owner's rights back.
"""
