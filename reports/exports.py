"""Downloads of the report pages: CSV (UTF-8 with a byte-order mark, so that Excel reads Chinese
names) and XLSX (real number formats for money and dates, the header row frozen, one sheet per
report), both from the same `Table` — a view builds its rows once and `download` writes them in
the format asked for.

CSV is streamed row by row. XLSX is written by openpyxl's write-only workbook (constant memory
per row) into a temporary file that spills to disk past `XLSX_SPOOL_BYTES`, then streamed.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.http import Http404, StreamingHttpResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

BOM = "\ufeff"
FORMATS = ("csv", "xlsx")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONEY_FORMAT = "#,##0.00;-#,##0.00"  # two decimals, thousands separated, a minus when negative
DATE_FORMAT = "yyyy-mm-dd"
XLSX_SPOOL_BYTES = 8 * 1024 * 1024  # kept in memory below this, a temporary file above
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit less the header row


@dataclass
class Table:
    """One report as rows: a header, the rows (any iterable, consumed once), which columns hold
    money (by header name; their cells become numbers with two decimals in XLSX) and a sheet
    title (Excel allows 31 characters)."""

    name: str  # the file name without extension
    header: list[str]
    rows: Iterable[Iterable]
    money: frozenset[str] = field(default_factory=frozenset)
    sheet: str = "Report"


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(header: Iterable, rows: Iterable[Iterable]) -> Iterator[str]:
    """The BOM, the header, then each row, as CSV text pieces (streamed, never all at once)."""
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow(list(header))
    for row in rows:
        yield writer.writerow(list(row))


def csv_response(filename: str, header: Iterable, rows: Iterable[Iterable]
                 ) -> StreamingHttpResponse:
    response = StreamingHttpResponse((line.encode("utf-8") for line in csv_lines(header, rows)),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _money(value):
    """A money cell's number (Decimal: exact in the file, which stores its decimal text)."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return str(value)  # a label in a money column ("TOTAL" rows keep their text elsewhere)


def _cell_maker(ws, money: bool) -> Callable[[object], WriteOnlyCell]:
    def make(value) -> WriteOnlyCell:
        if money:
            value = _money(value)
            cell = WriteOnlyCell(ws, value=value)
            if isinstance(value, Decimal):
                cell.number_format = MONEY_FORMAT
            return cell
        if isinstance(value, datetime):
            value = value.replace(tzinfo=None) if value.tzinfo else value
            cell = WriteOnlyCell(ws, value=value)
            cell.number_format = "yyyy-mm-dd hh:mm:ss"
            return cell
        if isinstance(value, date):
            cell = WriteOnlyCell(ws, value=value)
            cell.number_format = DATE_FORMAT
            return cell
        if isinstance(value, bool) or isinstance(value, int | float) or value is None:
            return WriteOnlyCell(ws, value=value)
        return WriteOnlyCell(ws, value=str(value))
    return make


def xlsx_write(tables: list[Table], target) -> int:
    """Write each table as one sheet of a workbook to `target` (a path or a binary file):
    money columns as numbers formatted with two decimals, dates as dates, the header bold and
    frozen. Returns the data rows written."""
    wb = Workbook(write_only=True)
    written = 0
    for table in tables:
        ws = wb.create_sheet(title=table.sheet[:31])
        ws.freeze_panes = "A2"
        for i, name in enumerate(table.header, start=1):
            ws.column_dimensions[get_column_letter(i)].width = max(12, min(len(name) + 4, 40))
        bold = Font(bold=True)
        head = []
        for name in table.header:
            cell = WriteOnlyCell(ws, value=name)
            cell.font = bold
            head.append(cell)
        ws.append(head)
        makers = [_cell_maker(ws, name in table.money) for name in table.header]
        for n, row in enumerate(table.rows, start=1):
            if n > XLSX_MAX_ROWS:
                raise ValueError(f"{table.name}: more rows than an Excel sheet holds; "
                                 "download the CSV")
            ws.append([make(v) for make, v in zip(makers, row, strict=True)])
            written += 1
    wb.save(target)
    return written


def xlsx_response(tables: list[Table], filename: str) -> StreamingHttpResponse:
    spool = tempfile.SpooledTemporaryFile(max_size=XLSX_SPOOL_BYTES)  # noqa: SIM115 - streamed
    xlsx_write(tables, spool)
    spool.seek(0)

    def chunks():
        with spool:
            while block := spool.read(64 * 1024):
                yield block

    response = StreamingHttpResponse(chunks(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def download(table: Table, fmt: str) -> StreamingHttpResponse:
    """The table as `fmt` ("csv" or "xlsx"): the one way every report page downloads."""
    if fmt == "csv":
        return csv_response(f"{table.name}.csv", table.header, table.rows)
    if fmt == "xlsx":
        return xlsx_response([table], f"{table.name}.xlsx")
    raise Http404(f"no {fmt} download; {', '.join(FORMATS)}")
