"""Import of a partner file: envelope checks (partners.files), then set-based row checks and
staging (lending.intake.checks), all in one transaction.

    extract  the bytes are hashed in chunks (digest), then decoded and parsed by the csv module
             in one tight loop that streams rows into a temporary table with COPY
    check    a handful of set-based statements: whole-file totals, one CASE per row for the
             first failing check, unique keys for duplicates
    load     INSERT … SELECT of the good rows into the kind's staging table, the others into
             partners.QuarantinedRow

Memory is bounded by the COPY buffer (COPY_FLUSH_ROWS rows), whatever the size of the file.
A whole-file rejection rolls everything back and is then recorded in the registry on its own.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import itertools
import logging
import time
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import BinaryIO

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

from lending import selectors as lending_selectors
from lending.intake import checks
from partners import selectors as partner_selectors
from partners import services as partner_services
from partners.calendar import is_business_day
from partners.files.contract import CONTROL_CHARS_RE, FIELD_MAX, KINDS
from partners.files.envelope import (
    Control,
    FileName,
    FileRejected,
    PartnerFileError,
    RowReader,
    codec_for,
    control_match_name,
    control_parse,
    digest_stream,
    file_name_parse,
)
from partners.models import InboundFile, InboundFileStatus, Partner

log = logging.getLogger(__name__)

# Rows per COPY write (a power of two): 512 rows of ~65 bytes is ~32 KiB, the size of psycopg's
# own COPY buffer. Small writes let the server parse one batch while Python matches the next:
# measured on 1,000,000 repayment lines, the COPY took 2.0-2.4 s at 256-1,024 rows per write
# against 3.5-4.0 s at 65,536 (~4 MB writes, which left the two sides mostly taking turns).
COPY_FLUSH_ROWS = 1 << 9


class NotYourFile(PartnerFileError):
    """A partner tried to send a file in another partner's name (the API answers 403)."""


@dataclass(frozen=True)
class ImportResult:
    file: str
    status: str
    rows: int
    quarantined: int
    reasons: dict[str, int]
    error: str | None
    file_id: int | None = None

    def as_dict(self) -> dict:
        """The contract's JSON summary, exactly these keys."""
        return {"file": self.file, "status": str(self.status), "rows": self.rows,
                "quarantined": self.quarantined, "reasons": self.reasons, "error": self.error}


def _step(cur, label: str, query, params: dict) -> int:
    started = time.perf_counter()
    cur.execute(query, params)
    rows = cur.rowcount
    log.info("intake step=%s rows=%s ms=%.1f", label, rows, (time.perf_counter() - started) * 1e3)
    return rows


def partner_file_import(
    *, name: str, data: BinaryIO, control: bytes | None, channel: str,
    encoding: str | None = None, acting_partner: Partner | None = None, sent_by=None,
    sent_by_label: str = "", now: datetime | None = None,
) -> ImportResult:
    """Import one data file with its control file; returns the contract's summary.

    `acting_partner` (API): the file must be in that partner's own name, else `NotYourFile`
    is raised and nothing is recorded. Whole-file rejections are recorded and reported with
    status REJECTED; a resend of the accepted file is recorded as DUPLICATE and changes nothing.
    """
    received_at = now or timezone.now()
    sha, size = digest_stream(data)
    record = {"name": name, "received_at": received_at, "channel": channel, "sent_by": sent_by,
              "sent_by_label": sent_by_label, "sha256": sha, "size_bytes": size,
              "partner": acting_partner, "partner_code": acting_partner.code if acting_partner
              else ""}
    ctl: Control | None = None
    try:
        fname = file_name_parse(name)
        record.update(partner_code=fname.partner_code, kind=fname.kind,
                      business_date=fname.business_date)
        if acting_partner is not None and fname.partner_code != acting_partner.code:
            raise NotYourFile(f"{name} names partner {fname.partner_code}, not {acting_partner.code}")
        partner = acting_partner or partner_selectors.partner_get_by_code(code=fname.partner_code)
        if partner is None:
            raise FileRejected(f"partner {fname.partner_code} is unknown")
        record["partner"] = partner
        ctl = control_parse(control, name=name)
        record.update(rows=ctl.rows, amount_total=ctl.amount_total)
        if acting_partner is not None and ctl.partner_code != acting_partner.code:
            raise NotYourFile(
                f"the control file names partner {ctl.partner_code}, not {acting_partner.code}"
            )
        control_match_name(ctl, fname, name=name)
        codec = codec_for(partner_encoding=partner.file_encoding, explicit=encoding)
        record["encoding"] = "utf-8" if codec == "utf-8-sig" else codec
        if sha != ctl.sha256:
            raise FileRejected(
                f"digest mismatch: the file's sha256 is {sha}, the control file says {ctl.sha256}"
            )
        with transaction.atomic():
            partner_services.inbound_file_lock(partner=partner)
            accepted = partner_selectors.inbound_file_accepted_get(
                partner=partner, kind=fname.kind, business_date=fname.business_date
            )
            if accepted is not None and accepted.sha256 == sha:
                dup = partner_services.inbound_file_create(
                    status=InboundFileStatus.DUPLICATE, duplicate_of=accepted, **record
                )
                return ImportResult(name, InboundFileStatus.DUPLICATE, accepted.rows or 0,
                                    accepted.quarantined_count, dict(accepted.reasons),
                                    None, dup.pk)
            settled = lending_selectors.last_settled_date(partner.pk)
            business_date_check(day=fname.business_date, today=timezone.localdate(received_at),
                                settled=settled)
            if accepted is not None:
                raise FileRejected(
                    f"a different {fname.kind} file of {partner.code} for "
                    f"{fname.business_date.isoformat()} was already accepted "
                    f"(file {accepted.pk}, sha256 {accepted.sha256})"
                )
            inbound = partner_services.inbound_file_create(
                status=InboundFileStatus.ACCEPTED, **record
            )
            _stage(inbound=inbound, partner=partner, fname=fname, ctl=ctl, data=data,
                   codec=codec, settled=settled)
            return ImportResult(name, InboundFileStatus.ACCEPTED, inbound.rows or 0,
                                inbound.quarantined_count, dict(inbound.reasons), None,
                                inbound.pk)
    except FileRejected as exc:
        rejected = partner_services.inbound_file_rejected_record(error=str(exc), **record)
        return ImportResult(name, InboundFileStatus.REJECTED, ctl.rows if ctl else 0, 0, {},
                            str(exc), rejected.pk)


def business_date_check(*, day: date, today: date, settled: date | None) -> None:
    """FILE_FORMATS 1.1 "Business dates": a file's business date is a business day of the
    bank's calendar, not after today, and after the partner's last settled business date
    (a settled day is never rewritten). Raises FileRejected saying which rule."""
    if day > today:
        raise FileRejected(f"business date {day.isoformat()} is after today "
                           f"({today.isoformat()})")
    if settled is not None and day <= settled:
        raise FileRejected(
            f"business date {day.isoformat()} is on or before the partner's last settled "
            f"business date {settled.isoformat()}: a settled day is never rewritten (send a "
            "correction as a reversal or an adjustment in a later day's files)")
    if not is_business_day(day):
        raise FileRejected(f"business date {day.isoformat()} is not a business day of the "
                           "bank's calendar (a weekend or a public holiday)")


def borrower_token_fn(partner_code: str):
    """HMAC-SHA256 of f"{partner}:{borrower_ref}" with BORROWER_HASH_KEY (as lending.services)."""
    base = hmac.new(settings.BORROWER_HASH_KEY.encode(), digestmod=hashlib.sha256)
    prefix = f"{partner_code}:"

    def token(ref: str) -> str:
        h = base.copy()
        h.update((prefix + ref).encode())
        return h.hexdigest()

    return token


def _copy_rows(cur, reader: RowReader, header: list[str], partner_code: str,
               kind: str) -> int:
    """Stream the data rows into intake_raw with COPY; returns the number of data rows.

    intake_raw numbers the rows itself (an identity column, in COPY order) and takes one mark
    column after the file's own: `off` (NULL for a row the fast path proved well-formed, `t`
    otherwise). A run of fast-path lines goes through as it was read, the empty mark appended
    to every line by one `str.replace` of the line end over the joined run: no per-line work
    but one regex match. Every other row is checked for its structure (`_structure`: fields,
    control characters, field length; a failure rejects the file naming the line) and sent
    with its mark. Blank lines are skipped (not data rows). For loans the borrower reference
    is replaced by its token before it leaves Python.
    """
    stmt = sql.SQL("COPY intake_raw ({}, off) FROM STDIN (FORMAT csv)").format(
        sql.SQL(", ").join(map(sql.Identifier, header))
    )
    where = _Where()
    with cur.copy(stmt) as copy:
        try:
            if kind == "loans":
                return _copy_parsed(copy, reader, header, borrower_token_fn(partner_code), where)
            return _copy_lines(copy, reader, header, kind, where)
        except UnicodeDecodeError as exc:
            raise reader.decode_error(exc, 0) from None
        except csv.Error as exc:
            raise FileRejected(f"malformed CSV at {where}: {exc}") from None


class _Where:
    """Where the reading is: the data row and the file line (1 = the header) it starts on."""

    row = 0
    line = 1

    def __str__(self) -> str:
        return f"line {self.line} (data row {self.row})"


def _structure(row: list[str], header: list[str], where: _Where, text: str | None = None) -> None:
    """A row the fast path did not prove: the header's number of fields, no control character
    (`text`: the row's line when it was not parsed), no field over FIELD_MAX characters.
    Each failure rejects the whole file (FILE_FORMATS 1.1)."""
    if len(row) != len(header):
        raise FileRejected(f"row {where.row} (line {where.line}) has {len(row)} fields, "
                           f"the header has {len(header)}")
    joined = text if text is not None else ",".join(row)
    if (bad := CONTROL_CHARS_RE.search(joined)) is not None:
        char = bad.group()
        what = "a NUL byte" if char == "\0" else "a control character"
        raise FileRejected(f"{where}: {what} (U+{ord(char):04X}) in the data; only tab, CR "
                           "and LF are allowed")
    if len(joined) > FIELD_MAX:
        for col, value in zip(header, row, strict=True):
            if len(value) > FIELD_MAX:
                raise FileRejected(f"{where}: the {col} field is {len(value)} characters "
                                   f"long, more than {FIELD_MAX}")


def _copy_lines(copy, reader: RowReader, header: list[str], kind: str, where: _Where) -> int:
    """The fast path: a line matching the file's fast-path regex (checks.Checks.line_regex,
    for the line end of the first data line) is well-formed in every column (no control
    character, no over-long field) and valid COPY CSV as it is: it goes through untouched but
    for its empty mark. A line without quotes and with the header's number of commas goes
    through unparsed after the structure checks, marked off the fast path. Any other line
    (quotes, quoted line breaks, wrong field count, blank) is parsed by the csv module."""
    commas = len(header) - 1
    lines = reader.lines
    first = next(lines, None)
    if first is None:
        return 0
    eol = "\r\n" if first.endswith("\r\n") else "\n"
    fast = checks.line_regex(kind, header, eol)
    match = fast.fullmatch if fast is not None else (lambda _line: None)
    mark = "," + eol  # off: NULL
    good: list[str] = []  # the current run of fast-path lines
    pieces: list[str] = []  # closed runs, and the lines off the fast path between them
    append = good.append
    slow = io.StringIO()
    # "\r\n" makes the writer quote a field holding either character (with "\n" alone a bare
    # CR went out unquoted and COPY refused it); the row's own end is then set back to eol
    write = csv.writer(slow, lineterminator="\r\n").writerow
    extra = 1  # file lines that are not one data row each: the header, blank lines, and the
    # continuation lines of quoted line breaks (so a row's line is n + extra)

    def close_run() -> None:
        if good:
            pieces.append("".join(good).replace(eol, mark))
            good.clear()

    def flush() -> int:
        close_run()
        copy.write("".join(pieces))
        pieces.clear()
        return n + COPY_FLUSH_ROWS

    n = 0
    flush_at = COPY_FLUSH_ROWS
    for line in itertools.chain((first,), lines):  # the hot loop: one C-level regex match
        n += 1
        if match(line):
            append(line)
            if n >= flush_at:
                flush_at = flush()
            continue
        close_run()
        where.row, where.line = n, n + extra
        if line.count(",") == commas and '"' not in line and "\r" not in line.rstrip("\r\n"):
            text = line.rstrip("\r\n")
            _structure(text.split(","), header, where, text)
            pieces.append(text + ",t" + eol)
        else:
            parser = csv.reader(itertools.chain((line,), lines))
            row = next(parser, [])
            extra += parser.line_num - 1
            if not row:
                n -= 1  # a blank line is not a data row
                extra += 1
                continue
            _structure(row, header, where)
            write((*row, "t"))
            text = slow.getvalue()
            pieces.append(text if eol == "\r\n" else text[:-2] + "\n")
            slow.seek(0)
            slow.truncate()
        if n >= flush_at:  # bounded whatever the mix of lines
            flush_at = flush()
    flush()
    return n


def _copy_parsed(copy, reader: RowReader, header: list[str], token, where: _Where) -> int:
    """Rows parsed by the csv module (loans: the borrower reference becomes its token), each
    checked for its structure. No fast path: intake_raw.ok is false for every row."""
    bi = header.index("borrower_ref")
    buf = io.StringIO()
    # "\r\n": every row ends alike, and a field holding a CR or an LF is quoted
    write = csv.writer(buf, lineterminator="\r\n").writerow
    n = 0
    parser = csv.reader(reader.lines)
    for row in parser:
        if not row:
            continue
        n += 1
        where.row, where.line = n, parser.line_num + 1 - _row_lines(row)
        _structure(row, header, where)
        if row[bi]:
            row[bi] = token(row[bi])
        write((*row, "t"))
        if not n & (COPY_FLUSH_ROWS - 1):
            copy.write(buf.getvalue())
            buf.seek(0)
            buf.truncate()
    copy.write(buf.getvalue())
    return n


def _row_lines(row: list[str]) -> int:
    """How many file lines a parsed row took, less one (its quoted line breaks)."""
    return sum(v.count("\n") + v.count("\r") - v.count("\r\n") for v in row)


def _stage(*, inbound: InboundFile, partner: Partner, fname: FileName, ctl: Control,
           data: BinaryIO, codec: str, settled: date | None) -> None:
    kind = fname.kind
    spec = KINDS[kind]
    reader = RowReader(data, codec)
    header = reader.header(spec)
    params = {"partner": partner.pk, "bdate": fname.business_date, "file": inbound.pk,
              "settled": settled}
    raw_cols = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c))
                                  for c in spec.columns)
    with connection.cursor() as dj_cur:
        cur = dj_cur.cursor
        # hash aggregates and joins over a million rows stay in memory instead of spilling
        cur.execute("SET LOCAL work_mem = '256MB'")
        cur.execute("DROP TABLE IF EXISTS intake_raw, intake_dates, intake_dup, "
                    "intake_dup2, intake_seen, intake_xseen, intake_checked, intake_err")
        # ok: the row is proven well-formed by the fast path (loans have none); off is the
        # mark the COPY sends with every row (see _copy_rows)
        cur.execute(sql.SQL(
            "CREATE TEMP TABLE intake_raw (row_no bigint GENERATED ALWAYS AS IDENTITY, {}, "
            "off text, ok boolean GENERATED ALWAYS AS ({}) STORED) "
            "ON COMMIT DROP"
        ).format(raw_cols, sql.SQL("off IS NULL" if kind not in checks.MATERIALISED
                                   else "false")))
        started = time.perf_counter()
        n = _copy_rows(cur, reader, header, partner.code, kind)
        log.info("intake step=copy rows=%s ms=%.1f", n, (time.perf_counter() - started) * 1e3)
        if n != ctl.rows:
            raise FileRejected(
                f"row count mismatch: the file has {n} data rows, the control file says {ctl.rows}"
            )
        _step(cur, "totals", checks.totals_sql(kind), params)
        total, params["lo"], params["hi"] = cur.fetchone()
        if total != ctl.amount_total:
            raise FileRejected(
                f"amount total mismatch: the {spec.main_amount} column sums to {total}, "
                f"the control file says {ctl.amount_total}"
            )
        # intake_raw is not analysed (measured: the same plans without, and the duplicate-key
        # hash aggregate twice as fast); with no statistics the planner may take a million
        # rows for a thousand and sort them: DISTINCT and GROUP BY hash instead (a hash
        # aggregate spills to disk beyond work_mem, so memory stays bounded)
        cur.execute("SET LOCAL enable_sort = off")
        _step(cur, "dates", checks.dates_sql(kind), params)
        found = {"dup": _step(cur, "dups", checks.dups_sql(kind), params) > 0}
        if kind == "reversals":
            found["dup2"] = _step(cur, "dups2", checks.dups_sql(
                kind, "reverses_txn_no", "intake_dup2"), params) > 0
        cur.execute("RESET enable_sort")
        for name, into, where in (("seen", "intake_seen", checks.SEEN),
                                  ("xseen", "intake_xseen", checks.XSEEN)):
            found[name] = False
            if kind not in where or params["lo"] is None:
                continue
            table, key = where[kind]
            _step(cur, f"{name}_range", checks.seen_possible_sql(table, key), params)
            if cur.fetchone()[0]:
                found[name] = _step(cur, name, checks.seen_sql(table, key, into), params) > 0
        analyze = ["intake_dates"] + [t for t, f in (
            ("intake_dup", "dup"), ("intake_dup2", "dup2"), ("intake_seen", "seen"),
            ("intake_xseen", "xseen")) if found.get(f)]
        cur.execute(sql.SQL("ANALYZE {}").format(sql.SQL(", ").join(map(sql.Identifier,
                                                                         analyze))))
        failing = _step(cur, "check", checks.check_sql(kind, header, checks.Found(**found)),
                        params)
        # the staging insert hashes the failing rows, never the million good ones; with none
        # (a clean file) it does not read intake_err at all
        if kind in checks.MATERIALISED:
            cur.execute("ANALYZE intake_checked")
        elif failing != 0:
            cur.execute("ANALYZE intake_err")
        _step(cur, "stage", checks.stage_sql(kind, failing=failing != 0), params)
        quarantined = _step(cur, "quarantine", checks.quarantine_sql(kind, header), params)
        cur.execute(
            "SELECT reason, count(*), coalesce(sum(amount), 0) FROM partners_quarantinedrow "
            "WHERE file_id = %(file)s AND stage = 'INTAKE' GROUP BY reason ORDER BY reason",
            params,
        )
        reasons, q_amount = {}, Decimal("0")
        for reason, count, amount in cur.fetchall():
            reasons[reason] = count
            q_amount += amount
        main = sql.Identifier(spec.main_amount)
        _step(cur, "staged_totals", sql.SQL(  # one accepted file per partner, kind, date
            "SELECT count(*), coalesce(sum({m}), 0) FROM {t} "
            "WHERE partner_id = %(partner)s AND business_date = %(bdate)s"
        ).format(m=main, t=sql.Identifier(checks.STAGE_TABLE[kind])), params)
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
