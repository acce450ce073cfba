"""COPY helpers: how batch paths move many rows in and out of PostgreSQL.

Rows go in with psycopg 3's ``COPY … FROM STDIN`` (``write_row``), never one INSERT per row.
Used by the services (``loans_book``) and by the settlement's steps; it lives beside them, not
inside ``lending.settlement``, so that the services never import the settlement (the settlement
calls the services: one way, checked by .importlinter).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence

from django.db import connection
from psycopg import sql

log = logging.getLogger(__name__)


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """COPY ``rows`` into ``table`` (existing, or a temp table) on Django's connection."""
    started = time.monotonic()
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    count = 0
    connection.ensure_connection()
    with connection.connection.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    log.info("copy %s rows=%d ms=%d", table, count, (time.monotonic() - started) * 1000)
    return count


def allocate_ids(sequence_of: str, count: int) -> list[int]:
    """Reserve ``count`` ids from the serial of ``sequence_of`` (a ``table.column``) at once."""
    if count == 0:
        return []
    table, column = sequence_of.split(".")
    with connection.cursor() as cur:
        cur.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, column, count],
        )
        return [row[0] for row in cur.fetchall()]
