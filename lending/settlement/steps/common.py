"""What the steps share: the domain's rules rendered into SQL, raw SQL helpers, a chunk's
claim and done mark, and the quarantine of rows at apply."""

from __future__ import annotations

import csv
import io
import time
from datetime import date

from django.db import connection
from django.utils import timezone
from psycopg import sql as pgsql

from lending.copyio import copy_rows
from lending.domain.aging import RISK_CLASS_ORDER, RiskClass
from lending.domain.loan_day import KEPT_BY_AGING, LoanStatus
from lending.settlement.models import RunChunk, SettlementRun


# The domain's rules rendered into the SQL of the apply step (one definition: lending.domain).
def _lit(value) -> str:
    return pgsql.Literal(str(value)).as_string(None)


def _in(values) -> str:
    return "(" + ", ".join(_lit(v) for v in values) + ")"


_CLASS_COLUMN = {RiskClass.SPECIAL_MENTION: "special_mention_dpd",
                 RiskClass.SUBSTANDARD: "substandard_dpd", RiskClass.DOUBTFUL: "doubtful_dpd",
                 RiskClass.LOSS: "loss_dpd"}


def risk_class_sql(alias: str) -> str:
    """lending.domain.aging.risk_class as SQL over `alias`.dpd and the program's thresholds
    (`alias`.special_mention_dpd … loss_dpd): the worst class whose first DPD is reached."""
    whens = " ".join(f"WHEN {alias}.dpd >= {alias}.{_CLASS_COLUMN[c]} THEN {_lit(c)}"
                     for c in reversed(RISK_CLASS_ORDER) if c in _CLASS_COLUMN)
    return f"CASE {whens} ELSE {_lit(RiskClass.NORMAL)} END"


def accruing_sql(dpd: str, after_dpd: str, accruing: str) -> str:
    """lending.domain.aging.is_non_accrual (R16, arrears cleared to cure) as SQL: whether the
    loan accrues at the day-end: not beyond `after_dpd`; back only when the DPD is 0."""
    return (f"CASE WHEN {dpd} > {after_dpd} THEN false WHEN {accruing} THEN true"
            f" ELSE {dpd} <= 0 END")


def status_sql(state: str, dpd: str) -> str:
    """lending.domain.loan_day.status_after_aging as SQL over a state and a DPD."""
    return (f"CASE WHEN {state} IN {_in(KEPT_BY_AGING)} THEN {state}"
            f" WHEN {dpd} > 0 THEN {_lit(LoanStatus.OVERDUE)} ELSE {_lit(LoanStatus.ACTIVE)} END")


def dpd_sql(oldest: str, day: str) -> str:
    """lending.domain.aging.days_past_due (the due date is not overdue) as SQL."""
    return f"CASE WHEN {oldest} IS NULL THEN 0 ELSE GREATEST({day} - {oldest}, 0) END"


def _fetch(sql: str, params) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _exec(sql: str, params=None) -> int:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.rowcount


def _claim_chunk(run: SettlementRun, step: str, seq: int) -> RunChunk | None:
    """Lock the chunk for this transaction; None if it is already done (a rerun skips it)."""
    chunk = RunChunk.objects.select_for_update().get(run=run, step=step, seq=seq)
    return None if chunk.done_at else chunk


def _finish_chunk(chunk: RunChunk, rows: int, started: float) -> None:
    chunk.done_at = timezone.now()
    chunk.rows = rows
    chunk.ms = int((time.monotonic() - started) * 1000)
    chunk.save(update_fields=["done_at", "rows", "ms"])


def _raw(values) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(["" if v is None else v for v in values])
    return buf.getvalue()


def _quarantine(partner_id: int, day: date, rows: list[tuple]) -> None:
    """rows: (file_id, row_no, column, reason, message, raw, amount) — stage APPLY."""
    now = timezone.now()
    copy_rows(
        "partners_quarantinedrow",
        ("file_id", "partner_id", "business_date", "row_no", "column", "reason", "message", "raw",
         "amount", "stage", "created_at", "resolved", "resolution_note"),
        ((f, partner_id, day, n, col, reason, msg, raw, amt, "APPLY", now, False, "")
         for f, n, col, reason, msg, raw, amt in rows),
    )
