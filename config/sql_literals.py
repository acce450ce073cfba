"""Enum values rendered into SQL: the one way a status, state, reason code or event kind
enters a SQL string (issue 23).

The values are defined once, as enums (the models' TextChoices, lending.domain's StrEnums);
SQL spells them through ``lit``, never by hand::

    f"... WHERE status = {lit(StagedRowStatus.STAGED)}"          # ... = 'STAGED'
    f"... AND state IN ({lit(*OPEN_STATES)})"                   # ... IN ('ACTIVE', ...)

so renaming or removing a member breaks the SQL at import, not at 3 a.m. in the run.
tests/unit/foundation/test_sql_literals.py fails when a quoted enum value is written into a SQL
string by hand in the packages that build SQL. Like config.locks, this module imports no app.
"""

from __future__ import annotations

from enum import Enum

from psycopg import sql


def lit(*values: str | Enum) -> str:
    """The SQL literal of each value, comma-separated: lit(A) -> "'A'", lit(A, B) -> "'A', 'B'".

    Enum members render their value; a value is quoted by psycopg (no injection from a
    member's spelling)."""
    if not values:
        raise ValueError("lit() needs at least one value: an empty IN () is not SQL")
    return ", ".join(sql.Literal(v.value if isinstance(v, Enum) else v).as_string(None)
                     for v in values)
