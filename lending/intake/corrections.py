"""Staff corrections of quarantined rows, replayed into a later run (issue 22).

A quarantined row is evidence and never changes (partners' trigger). Staff correct the fields
that were wrong (`correction_request`); the corrected row is checked by the intake's own row
checks (`lending.intake.steps._check_pass`, one definition with the file import) as a row of
the run it will go to, then (staged, rolled back) by the run's own checks of what it refers
to (lending.settlement.references), and refused with the column, the reason code and the
message when it still fails. A row that moves money (a disbursement, a repayment, a reversal) waits for a
second person: the correction is a four-eyes change request (`controls.requests`, kind
ROW_CORRECTION, handled by `lending.intake.correction_handler`). A balances row is not
replayed: it moves no money, and the next day's balances file carries every open loan again
(a replayed row would be a second row of that loan in the day's reconciliation).

Queued = staged: one row of the kind's staging table, `file` = the original file, `row_no` =
−(the correction's id), `business_date` = the run that applies it. The run reads it like any
staged row of its date (no change to the run) and applies it once: STAGED → APPLIED (or
QUARANTINED at apply, stage APPLY, under the same negative row number, which can be corrected
in its turn). The file checks count a file's own rows only (row_no > 0), so per file rows =
applied + quarantined still holds, and `corrections_accounted` checks the replays.

Which run (FILE_FORMATS 1.1, "a settled day is never rewritten: a correction is … in a later
day's files"): the row's own business date while it is not settled and its run has not
started, else the first business day after the partner's last settled day whose run has not
started. The row's dates are checked against that day as the contract says for a file of that
day: a payment or reversal dated on or before the last settled day is BAD_DATE (re-date it to
the day it is booked), `disbursed_on` / `as_of` must be that day.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

from config import locks
from lending import selectors as lending_selectors
from lending.intake import steps
from lending.intake.checks import kinds, staging
from lending.intake.checks.dsl import US
from lending.intake.models import CorrectionStatus, QuarantineCorrection, StagedRowStatus
from partners import services as partner_services
from partners.calendar import is_business_day, next_business_day
from partners.files.contract import KINDS
from partners.files.envelope import PartnerFileError, RowReader
from partners.models import QuarantinedRow, QuarantineStage

MONEY_KINDS = frozenset({"loans", "repayments", "reversals"})  # balances move no money
ROW_CORRECTION = "ROW_CORRECTION"  # controls.models.RequestKind


class CorrectionError(Exception):
    """A correction cannot be made, approved or queued; the message says why."""

    code = "CORRECTION"


class CorrectionInvalid(CorrectionError):
    """The corrected row fails an intake check: the message names the column and the rule."""

    code = "CORRECTION_INVALID"


def correction_initial(*, row: QuarantinedRow) -> dict[str, str]:
    """The row's fields by column, read from its raw text when it has the contract's columns
    in the contract's order (every APPLY row; an INTAKE row of a file in that order), else
    {} (the staff enter every field; the raw text is shown beside the form)."""
    spec = KINDS[row.file.kind]
    try:
        fields = next(csv.reader([row.raw]))
    except (csv.Error, StopIteration):
        return {}
    for cols in (spec.columns, spec.required):
        if len(fields) == len(cols):
            return dict(zip(cols, fields, strict=True))
    return {}


def _line(kind: str, values: dict[str, str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([values.get(c, "") for c in KINDS[kind].columns])
    return buf.getvalue()


def _values(row: QuarantinedRow, values: dict) -> dict[str, str]:
    kind = row.file.kind
    cols = KINDS[kind].columns
    unknown = sorted(set(values) - set(cols))
    if unknown:
        raise CorrectionInvalid(f"{', '.join(unknown)}: not a column of a {kind} row "
                                f"(columns: {', '.join(cols)})")
    out = {c: str(values.get(c) if values.get(c) is not None else "") for c in cols}
    if kind == "loans":  # the raw text holds the borrower's token, never the partner's ref
        token = correction_initial(row=row).get("borrower_ref")
        if token is None:
            raise CorrectionInvalid("borrower_ref: the quarantined row's raw text is not in "
                                    "the contract's column order, so its borrower token "
                                    "cannot be read back; a loans row like this cannot be "
                                    "corrected here")
        if out["borrower_ref"] != token:
            raise CorrectionInvalid("borrower_ref: the borrower is kept as sent (its token "
                                    f"{token}); it cannot be corrected")
    return out


def correction_target_date(*, partner_id: int, row_date: date) -> date:
    """The business date of the run a correction goes to (module docstring); takes that run's
    lock until the transaction ends, so the run cannot start before the row is staged."""
    from lending.settlement.models import RunState, SettlementRun

    settled = lending_selectors.last_settled_date(partner_id)
    day = row_date if settled is None or row_date > settled else next_business_day(settled)
    while not is_business_day(day):
        day = next_business_day(day)
    started = set(SettlementRun.objects.filter(
        partner_id=partner_id, business_date__gte=day,
        state__in=[RunState.RUNNING, RunState.DONE, RunState.FAILED],
    ).values_list("business_date", flat=True))
    for _ in range(400):  # a year and more of business days: a run stuck that long is a bug
        if day not in started and locks.try_xact(locks.SETTLEMENT_RUN, partner_id, day):
            return day
        day = next_business_day(day)
    raise CorrectionError(f"no open business day found for partner {partner_id} after {day}")


def _check_row(*, row: QuarantinedRow, kind: str, values: dict[str, str], day: date,
               stage_as: int | None = None) -> int | None:
    """The intake's row checks on the corrected row as a row of `day`'s file; raises
    CorrectionInvalid naming the column and the rule. `stage_as`: stage it under that row
    number (the original file's) and return the staged id."""
    spec = KINDS[kind]
    data = (",".join(spec.columns) + "\n" + _line(kind, values) + "\n").encode("utf-8")
    reader = RowReader(io.BytesIO(data), "utf-8")
    header = reader.header(spec)
    params = {"partner": row.partner_id, "bdate": day, "file": row.file_id,
              "settled": lending_selectors.last_settled_date(row.partner_id)}
    where = f"a {kind} row of {row.partner.code} for the run of {day.isoformat()}"
    with transaction.atomic(), connection.cursor() as dj_cur:
        cur = dj_cur.cursor
        try:
            steps._check_pass(cur, kind=kind, header=header, reader=reader,
                              partner_code=row.partner.code, params=params, ctl=None,
                              first_row_no=stage_as or _PROBE_ROW_NO, tokenised=True)
        except PartnerFileError as exc:
            raise CorrectionInvalid(f"the corrected row is not valid CSV for {where}: "
                                    f"{exc}") from None
        cur.execute("SELECT err FROM intake_checked WHERE err IS NOT NULL"
                    if kind in kinds.MATERIALISED else "SELECT err FROM intake_err")
        found = cur.fetchone()
        if found is not None:
            reason, column, message = found[0].split(US, 2)
            hint = ""
            if reason == "DUPLICATE" and row.stage == QuarantineStage.APPLY:
                hint = (" (the original row is staged under this number, quarantined at "
                        "apply: give the corrected row a new one)")
            raise CorrectionInvalid(f"{column}: {reason} — {message}{hint} (checked as {where})")
        # staged (under a number no file row has), then the run's own first step's checks of
        # what it refers to (lending.settlement.references): a loan nobody has, a repayment
        # nobody made would only be quarantined again by the run
        with transaction.atomic():
            row_no = stage_as or _PROBE_ROW_NO
            cur.execute(staging.stage_sql(kind, failing=False), params)
            cur.execute(sql.SQL("SELECT id FROM {} WHERE partner_id = %(partner)s AND "
                                "business_date = %(bdate)s AND row_no = %(row)s").format(
                sql.Identifier(kinds.STAGE_TABLE[kind])), {**params, "row": row_no})
            staged_id = cur.fetchone()[0]
            _references_check(cur, kind=kind, staged_id=staged_id, params=params, where=where)
            if stage_as is None:
                transaction.set_rollback(True)
                return None
        return staged_id


# The row number a row is staged under while only being checked (rolled back at once; the
# partner's inbound lock is held, so no two checks of one partner meet).
_PROBE_ROW_NO = -(2**62)


def _references_check(cur, *, kind: str, staged_id: int, params: dict, where: str) -> None:
    from lending.settlement import references

    if kind not in references._KINDS:
        return
    table, build = references._KINDS[kind]
    checks, joins = build()
    cur.execute(sql.SQL("SELECT {} FROM {} r {} WHERE r.id = %(staged)s").format(
        checks.first_failing(), sql.Identifier(table), sql.SQL(joins)),
        {**params, "staged": staged_id})
    found = cur.fetchone()
    if found is not None and found[0] is not None:
        reason, column, message = found[0].split(US, 2)
        raise CorrectionInvalid(f"{column}: {reason} — {message} (checked as {where}, "
                                "as its run will)")


def _queue(corr: QuarantineCorrection, *, approved_by=None) -> str:
    """Stage the corrected row for the next open run and record it; once per correction."""
    day = correction_target_date(partner_id=corr.partner_id,
                                 row_date=corr.quarantined.business_date)
    corr.staged_id = _check_row(row=corr.quarantined, kind=corr.kind, values=corr.values,
                                day=day, stage_as=corr.replay_row_no)
    corr.status, corr.business_date, corr.queued_at = (CorrectionStatus.QUEUED, day,
                                                       timezone.now())
    corr.approved_by = approved_by
    corr.save(update_fields=["status", "business_date", "queued_at", "approved_by",
                             "staged_id"])
    partner_services.quarantined_rows_resolve(
        rows=QuarantinedRow.objects.filter(pk=corr.quarantined_id, resolved=False),
        note=f"corrected by {corr} (by {corr.created_by}"
             + (f", approved by {approved_by}" if approved_by else "")
             + f"): replayed into the run of {day.isoformat()}", by=approved_by or corr.created_by)
    return f"{corr}: staged for the run of {corr.partner.code} {day.isoformat()}"


@transaction.atomic
def correction_request(*, row: QuarantinedRow, values: dict, note: str,
                       by) -> QuarantineCorrection:
    """Correct a quarantined row that moves money: checked now as a row of its next run, then a
    four-eyes change request; the approval stages it (`request_apply`)."""
    from controls.models import ChangeRequest, RequestStatus
    from controls.requests import request_create

    row = QuarantinedRow.objects.select_related("file", "partner").get(pk=row.pk)
    if not (note or "").strip():
        raise CorrectionError(f"{row}: a correction needs a note (why, and from what source)")
    if row.resolved:
        raise CorrectionError(f"{row} is already resolved ({row.resolution_note})")
    partner_services.inbound_file_lock(partner=row.partner)  # as an import: keys seen settle
    for open_ in QuarantineCorrection.objects.select_for_update().filter(
            quarantined=row, status=CorrectionStatus.PENDING_APPROVAL):
        if ChangeRequest.objects.filter(pk=open_.request_id,
                                        status=RequestStatus.REJECTED).exists():
            open_.status = CorrectionStatus.REJECTED
            open_.save(update_fields=["status"])
        else:
            raise CorrectionError(f"{row} already has {open_} waiting for approval "
                                  f"(change request #{open_.request_id})")
    kind = row.file.kind
    if kind not in MONEY_KINDS:
        raise CorrectionError(f"{row}: a {kind} row is not replayed (the next day's {kind} "
                              "file carries every open loan again); mark it resolved instead")
    clean = _values(row, values)
    day = correction_target_date(partner_id=row.partner_id, row_date=row.business_date)
    _check_row(row=row, kind=kind, values=clean, day=day)
    corr = QuarantineCorrection.objects.create(
        quarantined=row, partner=row.partner, kind=kind, values=clean, line=_line(kind, clean),
        note=note.strip(), status=CorrectionStatus.PENDING_APPROVAL, created_by=by)
    req = request_create(kind=ROW_CORRECTION, target_id=corr.pk,
                         payload={"line": corr.line}, note=note.strip(), by=by)
    corr.request_id = req.pk
    corr.save(update_fields=["request_id"])
    return corr


def _pending(req) -> QuarantineCorrection:
    corr = (QuarantineCorrection.objects.select_for_update(of=("self",))
            .select_related("quarantined__file", "quarantined__partner", "partner", "created_by")
            .filter(pk=req.target_id).first())
    if corr is None:
        raise CorrectionError(f"{req}: correction {req.target_id} does not exist")
    if corr.status != CorrectionStatus.PENDING_APPROVAL:
        raise CorrectionError(f"{req}: {corr} is {corr.status}, not pending approval")
    if (req.payload or {}) != {"line": corr.line}:
        raise CorrectionError(f"{req}: the request's row differs from {corr}'s "
                              f"({corr.line!r}): draft a new correction")
    return corr


def request_check(req) -> None:
    """The change request's check (at submission and approval): the row still passes."""
    corr = _pending(req)
    day = correction_target_date(partner_id=corr.partner_id,
                                 row_date=corr.quarantined.business_date)
    _check_row(row=corr.quarantined, kind=corr.kind, values=corr.values, day=day)


def request_apply(req) -> str:
    """Approved by a second person: stage the corrected row for its run."""
    corr = _pending(req)
    partner_services.inbound_file_lock(partner=corr.partner)
    return _queue(corr, approved_by=req.decided_by)


def correction_outcome(corr: QuarantineCorrection) -> str:
    """What became of a queued correction: STAGED (waiting for its run), APPLIED or
    QUARANTINED (by the run), from its staged row."""
    if corr.staged_id is None:
        return str(corr.status)
    with connection.cursor() as dj_cur:
        cur = dj_cur.cursor  # psycopg's own: the statement is composed with psycopg.sql
        cur.execute(sql.SQL("SELECT status FROM {} WHERE id = %s").format(
            sql.Identifier(kinds.STAGE_TABLE[corr.kind])), [corr.staged_id])
        found = cur.fetchone()
    return found[0] if found else "MISSING"


def corrections_accounted(*, as_of: date | None = None, partner_id: int | None = None
                          ) -> list[str]:
    """Every queued correction has exactly one staged row, under its own negative row number
    in its run's date, and a row quarantined at apply has its quarantine record."""
    problems: list[str] = []
    qs = QuarantineCorrection.objects.filter(status=CorrectionStatus.QUEUED)
    if as_of is not None:
        qs = qs.filter(business_date=as_of)
    if partner_id is not None:
        qs = qs.filter(partner_id=partner_id)
    by_kind: dict[str, list[QuarantineCorrection]] = {}
    for corr in qs.order_by("pk"):
        by_kind.setdefault(corr.kind, []).append(corr)
    with connection.cursor() as dj_cur:
        cur = dj_cur.cursor  # psycopg's own: the statement is composed with psycopg.sql
        for kind, corrs in by_kind.items():
            cur.execute(sql.SQL(
                "SELECT s.row_no, count(*), min(s.status), bool_and(s.status <> %s OR EXISTS ("
                "SELECT FROM partners_quarantinedrow q WHERE q.file_id = s.file_id "
                "AND q.row_no = s.row_no AND q.stage = %s)) FROM {} s "
                "WHERE s.row_no = ANY(%s) AND s.partner_id = ANY(%s) GROUP BY 1").format(
                sql.Identifier(kinds.STAGE_TABLE[kind])),
                [StagedRowStatus.QUARANTINED, QuarantineStage.APPLY,
                 [c.replay_row_no for c in corrs], list({c.partner_id for c in corrs})])
            found = {r[0]: r[1:] for r in cur.fetchall()}
            for corr in corrs:
                n, _status, recorded = found.get(corr.replay_row_no, (0, None, True))
                if n != 1:
                    problems.append(f"{corr} ({kind}, run {corr.business_date}): {n} staged "
                                    "rows, expected exactly one")
                elif not recorded:
                    problems.append(f"{corr}: quarantined at apply without its record")
    return problems
