"""The set-based steps of an import, in one transaction: the raw table filled by COPY
(lending.intake.streaming), whole-file totals, the dates, repeated and earlier keys, the check
pass, the staging of the good rows and the quarantine of the others (lending.intake.checks);
then the contract's invariant: rows = staged + quarantined, to the cent."""

from __future__ import annotations

import logging
import time
from datetime import date
from decimal import Decimal
from typing import BinaryIO

from django.db import connection
from psycopg import sql

from config.sql_literals import lit
from lending.intake import streaming
from lending.intake.checks import kinds, staging
from partners.files.contract import KINDS
from partners.files.envelope import (
    Control,
    FileName,
    FileRejected,
    RowReader,
)
from partners.models import InboundFile, Partner, QuarantineStage

log = logging.getLogger(__name__)


def _step(cur, label: str, query, params: dict) -> int:
    started = time.perf_counter()
    cur.execute(query, params)
    rows = cur.rowcount
    log.info("intake step=%s rows=%s ms=%.1f", label, rows, (time.perf_counter() - started) * 1e3)
    return rows


def stage(*, inbound: InboundFile, partner: Partner, fname: FileName, ctl: Control,
           data: BinaryIO, codec: str, settled: date | None) -> None:
    kind = fname.kind
    spec = KINDS[kind]
    reader = RowReader(data, codec)
    header = reader.header(spec)
    params = {"partner": partner.pk, "bdate": fname.business_date, "file": inbound.pk,
              "settled": settled}
    with connection.cursor() as dj_cur:
        cur = dj_cur.cursor
        n, failing = _check_pass(cur, kind=kind, header=header, reader=reader,
                                 partner_code=partner.code, params=params, ctl=ctl)
        _step(cur, "stage", staging.stage_sql(kind, failing=failing != 0), params)
        quarantined = _step(cur, "quarantine", staging.quarantine_sql(kind, header), params)
        cur.execute(
            "SELECT reason, count(*), coalesce(sum(amount), 0) FROM partners_quarantinedrow "
            f"WHERE file_id = %(file)s AND stage = {lit(QuarantineStage.INTAKE)} GROUP BY reason ORDER BY reason",
            params,
        )
        reasons, q_amount = {}, Decimal("0")
        for reason, count, amount in cur.fetchall():
            reasons[reason] = count
            q_amount += amount
        main = sql.Identifier(spec.main_amount)
        _step(cur, "staged_totals", sql.SQL(  # one accepted file per partner, kind, date
            "SELECT count(*), coalesce(sum({m}), 0) FROM {t} "
            "WHERE partner_id = %(partner)s AND business_date = %(bdate)s AND row_no > 0"
        ).format(m=main, t=sql.Identifier(kinds.STAGE_TABLE[kind])), params)
        staged_count, staged_amount = cur.fetchone()
    # The contract's invariant, checked before commit: a violation is a bug, never a file.
    if staged_count + quarantined != n or staged_amount + q_amount != ctl.amount_total:
        raise RuntimeError(
            f"intake invariant broken for {inbound.name}: rows {n} = {staged_count} staged + "
            f"{quarantined} quarantined; total {ctl.amount_total} = {staged_amount} + {q_amount}"
        )
    InboundFile.objects.filter(pk=inbound.pk).update(
        staged_count=staged_count, staged_amount=staged_amount, quarantined_count=quarantined,
        quarantined_amount=q_amount, reasons=reasons,
    )
    inbound.staged_count, inbound.staged_amount = staged_count, staged_amount
    inbound.quarantined_count, inbound.quarantined_amount = quarantined, q_amount
    inbound.reasons = reasons


def _check_pass(cur, *, kind: str, header: list[str], reader: RowReader, partner_code: str,
                params: dict, ctl: Control | None, first_row_no: int = 1,
                tokenised: bool = False) -> tuple[int, int]:
    """COPY the rows into intake_raw, then every row check of the contract (one definition:
    the file's import and a staff correction's row, lending.intake.corrections, both come
    here). `ctl`: the control file the rows and total must match (None for a correction).
    Returns (rows, failing rows); the failing rows' errors are in intake_err (intake_checked
    for loans)."""
    spec = KINDS[kind]
    raw_cols = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c))
                                  for c in spec.columns)
    # hash aggregates and joins over a million rows stay in memory instead of spilling
    cur.execute("SET LOCAL work_mem = '256MB'")
    cur.execute("DROP TABLE IF EXISTS intake_raw, intake_dates, intake_dup, "
                "intake_dup2, intake_seen, intake_xseen, intake_checked, intake_err")
    # ok: the row is proven well-formed by the fast path (loans have none); off is the
    # mark the COPY sends with every row (see streaming.copy_rows)
    cur.execute(sql.SQL(
        "CREATE TEMP TABLE intake_raw (row_no bigint GENERATED ALWAYS AS IDENTITY "
        "(START WITH {start} MINVALUE {start}), {}, "
        "off text, ok boolean GENERATED ALWAYS AS ({}) STORED) "
        "ON COMMIT DROP"
    ).format(raw_cols, sql.SQL("off IS NULL" if kind not in kinds.MATERIALISED
                               else "false"), start=sql.Literal(first_row_no)))
    started = time.perf_counter()
    n = streaming.copy_rows(cur, reader, header, partner_code, kind, tokenised=tokenised)
    log.info("intake step=copy rows=%s ms=%.1f", n, (time.perf_counter() - started) * 1e3)
    if ctl is not None and n != ctl.rows:
        raise FileRejected(
            f"row count mismatch: the file has {n} data rows, the control file says {ctl.rows}"
        )
    _step(cur, "totals", kinds.totals_sql(kind), params)
    total, params["lo"], params["hi"] = cur.fetchone()
    if ctl is not None and total != ctl.amount_total:
        raise FileRejected(
            f"amount total mismatch: the {spec.main_amount} column sums to {total}, "
            f"the control file says {ctl.amount_total}"
        )
    # intake_raw is not analysed (measured: the same plans without, and the duplicate-key
    # hash aggregate twice as fast); with no statistics the planner may take a million
    # rows for a thousand and sort them: DISTINCT and GROUP BY hash instead (a hash
    # aggregate spills to disk beyond work_mem, so memory stays bounded)
    cur.execute("SET LOCAL enable_sort = off")
    _step(cur, "dates", kinds.dates_sql(kind), params)
    found = {"dup": _step(cur, "dups", kinds.dups_sql(kind), params) > 0}
    if kind == "reversals":
        found["dup2"] = _step(cur, "dups2", kinds.dups_sql(
            kind, "reverses_txn_no", "intake_dup2"), params) > 0
    cur.execute("RESET enable_sort")
    for name, into, where in (("seen", "intake_seen", kinds.SEEN),
                              ("xseen", "intake_xseen", kinds.XSEEN)):
        found[name] = False
        if kind not in where or params["lo"] is None:
            continue
        table, key = where[kind]
        _step(cur, f"{name}_range", kinds.seen_possible_sql(table, key), params)
        if cur.fetchone()[0]:
            found[name] = _step(cur, name, kinds.seen_sql(table, key, into), params) > 0
    analyze = ["intake_dates"] + [t for t, f in (
        ("intake_dup", "dup"), ("intake_dup2", "dup2"), ("intake_seen", "seen"),
        ("intake_xseen", "xseen")) if found.get(f)]
    cur.execute(sql.SQL("ANALYZE {}").format(sql.SQL(", ").join(map(sql.Identifier,
                                                                     analyze))))
    failing = _step(cur, "check", staging.check_sql(kind, header, kinds.Found(**found)),
                    params)
    # the staging insert hashes the failing rows, never the million good ones; with none
    # (a clean file) it does not read intake_err at all
    if kind in kinds.MATERIALISED:
        cur.execute("ANALYZE intake_checked")
    elif failing != 0:
        cur.execute("ANALYZE intake_err")
    return n, failing
