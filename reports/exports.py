"""CSV downloads: UTF-8 with a byte-order mark, so that Excel reads Chinese names."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse

BOM = "\ufeff"


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
