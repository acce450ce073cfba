"""The audit trail's baseline: a row that existed before its table was tracked has no event, so
its first tracked change would show only the after. `audit_baseline` records each such row once
as a `snapshot` event (the row as it stood), so that every later change has its before."""

from __future__ import annotations

from collections.abc import Sequence

from psycopg import sql

SNAPSHOT = "snapshot"


def audit_baseline(cursor, *, event_table: str, source_table: str,
                   columns: Sequence[str]) -> int:
    """Record a `snapshot` event for each row of `source_table` that has no event yet in
    `event_table` (django-pghistory's, tracking `columns` and the primary key `id`).
    Idempotent; returns the number of rows recorded."""
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    src = sql.SQL(", ").join(sql.Identifier("s", c) for c in columns)
    cursor.execute(sql.SQL(
        "INSERT INTO {event} (pgh_created_at, pgh_label, pgh_obj_id, {cols}) "
        "SELECT now(), %s, s.id, {src} FROM {source} s "
        "WHERE NOT EXISTS (SELECT 1 FROM {event} e WHERE e.pgh_obj_id = s.id)").format(
            event=sql.Identifier(event_table), source=sql.Identifier(source_table),
            cols=cols, src=src), [SNAPSHOT])
    return cursor.rowcount
