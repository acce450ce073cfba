"""Streaming a partner file's rows into the temporary table `intake_raw` with COPY: the fast
path (lines a regex proves well-formed go through untouched), the structure checks of the
others, and the borrower token that replaces a loan's borrower reference before it leaves
Python."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import itertools
import logging

from django.conf import settings
from psycopg import sql

from lending.intake.checks import kinds
from partners.files.contract import CONTROL_CHARS_RE, FIELD_MAX
from partners.files.envelope import (
    FileRejected,
    RowReader,
)

log = logging.getLogger(__name__)

# Rows per COPY write (a power of two): 512 rows of ~65 bytes is ~32 KiB, the size of psycopg's
# own COPY buffer. Small writes let the server parse one batch while Python matches the next:
# measured on 1,000,000 repayment lines, the COPY took 2.0-2.4 s at 256-1,024 rows per write
# against 3.5-4.0 s at 65,536 (~4 MB writes, which left the two sides mostly taking turns).
COPY_FLUSH_ROWS = 1 << 9


def borrower_token_fn(partner_code: str):
    """HMAC-SHA256 of f"{partner}:{borrower_ref}" with BORROWER_HASH_KEY (as lending.services)."""
    base = hmac.new(settings.BORROWER_HASH_KEY.encode(), digestmod=hashlib.sha256)
    prefix = f"{partner_code}:"

    def token(ref: str) -> str:
        h = base.copy()
        h.update((prefix + ref).encode())
        return h.hexdigest()

    return token


def copy_rows(cur, reader: RowReader, header: list[str], partner_code: str,
              kind: str, tokenised: bool = False) -> int:
    """Stream the data rows into intake_raw with COPY; returns the number of data rows.

    intake_raw numbers the rows itself (an identity column, in COPY order) and takes one mark
    column after the file's own: `off` (NULL for a row the fast path proved well-formed, `t`
    otherwise). A run of fast-path lines goes through as it was read, the empty mark appended
    to every line by one `str.replace` of the line end over the joined run: no per-line work
    but one regex match. Every other row is checked for its structure (`_structure`: fields,
    control characters, field length; a failure rejects the file naming the line) and sent
    with its mark. Blank lines are skipped (not data rows). For loans the borrower reference
    is replaced by its token before it leaves Python (`tokenised`: it already is one, as in a
    staff correction of a quarantined loans row, whose raw text carries the token).
    """
    stmt = sql.SQL("COPY intake_raw ({}, off) FROM STDIN (FORMAT csv)").format(
        sql.SQL(", ").join(map(sql.Identifier, header))
    )
    where = _Where()
    with cur.copy(stmt) as copy:
        try:
            if kind == "loans":
                token = str if tokenised else borrower_token_fn(partner_code)
                return _copy_parsed(copy, reader, header, token, where)
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
    fast = kinds.line_regex(kind, header, eol)
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
