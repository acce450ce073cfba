"""CSV and XLSX renderers for the partner API (REST_FRAMEWORK's DEFAULT_RENDERER_CLASSES):
`Accept: text/csv` or `?format=csv`, `Accept: application/vnd.openxmlformats-officedocument.
spreadsheetml.sheet` or `?format=xlsx` answer the JSON's rows as a file written by the report
pages' own helper (`reports.exports`): CSV in UTF-8 with a byte-order mark (Excel reads Chinese),
XLSX with money as numbers with two decimals, dates as dates and the header frozen.

Why not `djangorestframework-csv` and `drf-excel`: the first has had no release since 2023 and
writes a BOM only in its streaming renderer; the second freezes no header and writes a nested
list (a statement's lines) as one text cell. Both would also be a second way of writing the
files the report pages already write.

The rows:

- a paginated answer's `results`, a list's items, or a single object as one row — never the
  pagination envelope. The columns are the view serializer's fields, in its order; its
  `DecimalField`s are the money columns, its `DateField`s / `DateTimeField`s dates.
- a nested list of objects (a statement's `lines`) is a table of its own: a second XLSX sheet,
  each row led by its parent's `id` (as `<export_row>_id`; or the view's `export_key`) and
  `business_date`; or, named by the view's `export_wide`, spread into columns of the main
  table (a snapshot's funders: `bank_principal`, `bank_interest`, …). The CSV holds
  one table: the main rows, or the view's `export_csv_table` (a statement's detail: its lines).
- the file is named after the view's `export_name` and the requesting partner's code.

An unknown `?format=` is a 400 (`FormatNegotiation`). An error answer (4xx/5xx) stays JSON (`Content-Type: application/json`), whatever was asked.
"""

from __future__ import annotations

import io
import json
from datetime import date, datetime

from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer

from reports import exports

EXPORT_FORMATS = ("csv", "xlsx")


def _rows(data) -> list[dict]:
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        return data["results"]  # a page: its rows, never the envelope
    if isinstance(data, list):
        return data
    return [data]


def _fields(view, rows: list[dict]) -> dict:
    """The columns: {name: serializer field or None}, in the serializer's order."""
    get_serializer = getattr(view, "get_serializer", None)
    if get_serializer is not None:
        try:
            serializer = get_serializer()
        except Exception:  # noqa: BLE001 - a view without a serializer: the data's keys
            serializer = None
        if serializer is not None:
            child = getattr(serializer, "child", serializer)
            return {name: f for name, f in child.fields.items()
                    if not getattr(f, "write_only", False)}
    return {key: None for key in (rows[0] if rows and isinstance(rows[0], dict) else {})}


def _nested(field) -> dict | None:
    """The fields of a nested list of objects (`many=True`), else None."""
    if isinstance(field, serializers.ListSerializer):
        return {name: f for name, f in field.child.fields.items()
                if not getattr(f, "write_only", False)}
    return None


def _cell(value, field, *, typed: bool):
    """A JSON value as a cell: typed (XLSX) turns date text into dates; lists and objects
    become JSON text (Chinese kept as it is)."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return ""
    if typed and isinstance(value, str) and value:
        try:
            if isinstance(field, serializers.DateTimeField):
                return datetime.fromisoformat(value)
            if isinstance(field, serializers.DateField):
                return date.fromisoformat(value)
        except ValueError:
            return value
    return value


def _spread(rows: list[dict], key: str, child: dict | None) -> dict:
    """The view's `export_wide` list spread into columns, `<first field>_<field>` for each
    item (a snapshot's funders: `bank_principal`, …), from the first row's items:
    {column: (getter, field)}."""
    if not child or not rows:
        return {}
    label, *rest = list(child)
    out = {}
    for i, item in enumerate(rows[0].get(key) or []):
        prefix = str(item.get(label)).lower()
        for k in rest:
            out[f"{prefix}_{k}"] = (
                lambda r, i=i, k=k: ((r.get(key) or [])[i].get(k)
                                     if i < len(r.get(key) or []) else None), child[k])
    return out


def _money(fields: dict) -> frozenset[str]:
    return frozenset(name for name, f in fields.items()
                     if isinstance(f, serializers.DecimalField))


def tables(data, view, *, typed: bool) -> list[exports.Table]:
    """The main table and one per nested list, from the JSON answer `data`."""
    rows = _rows(data)
    fields = _fields(view, rows)
    name = getattr(view, "export_name", "export")
    flat = {k: f for k, f in fields.items() if _nested(f) is None}
    wide = getattr(view, "export_wide", None)
    spread = _spread(rows, wide, _nested(fields.get(wide))) if wide else {}
    main = exports.Table(
        name, [*flat, *spread],
        [[_cell(r.get(k), f, typed=typed) for k, f in flat.items()]
         + [_cell(get(r), f, typed=typed) for get, f in spread.values()] for r in rows],
        money=_money(flat) | _money({k: f for k, (_, f) in spread.items()}),
        sheet=getattr(view, "export_sheet", name.replace("-", " ").capitalize()))
    out = [main]
    key_name = getattr(view, "export_key", "id")
    for key, field in fields.items():
        child = _nested(field)
        if child is None or key == wide:
            continue
        lead = {(f"{getattr(view, 'export_row', 'parent')}_id" if key_name == "id"
                 else key_name): key_name} | ({"business_date": "business_date"}
                                              if "business_date" in flat else {})
        child_rows = [[_cell(r.get(src), flat.get(src), typed=typed) for src in lead.values()]
                      + [_cell(item.get(k), f, typed=typed) for k, f in child.items()]
                      for r in rows for item in (r.get(key) or [])]
        out.append(exports.Table(f"{name}-{key}", [*lead, *child], child_rows,
                                 money=_money(child),
                                 sheet=key.replace("_", " ").capitalize()))
    return out


class _TableRenderer(BaseRenderer):
    charset = None
    extension = ""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        context = renderer_context or {}
        response, view = context.get("response"), context.get("view")
        if data is None:
            return b""
        if response is not None and response.status_code >= 400:
            response["Content-Type"] = "application/json"  # an error is never a file
            return JSONRenderer().render(data, "application/json", context)
        found = tables(data, view, typed=self.format == "xlsx")
        if response is not None:
            request = context.get("request")
            partner = getattr(request, "partner", None) if request is not None else None
            stem = found[0].name + (f"-{partner.code}" if partner is not None else "")
            response["Content-Disposition"] = f'attachment; filename="{stem}.{self.format}"'
        return self.write(found, view)

    def write(self, found: list[exports.Table], view) -> bytes:
        raise NotImplementedError


class CSVRenderer(_TableRenderer):
    """The rows as CSV, UTF-8 with a byte-order mark."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def write(self, found: list[exports.Table], view) -> bytes:
        wanted = getattr(view, "export_csv_table", None)
        table = next((t for t in found if wanted and t.name.endswith(f"-{wanted}")), found[0])
        return "".join(exports.csv_lines(table.header, table.rows)).encode("utf-8")


class XLSXRenderer(_TableRenderer):
    """The rows as an XLSX workbook: one sheet per table."""

    media_type = exports.XLSX_CONTENT_TYPE
    format = "xlsx"

    def write(self, found: list[exports.Table], view) -> bytes:
        buffer = io.BytesIO()
        exports.xlsx_write(found, buffer)
        return buffer.getvalue()


class FormatNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, except that an unknown `?format=` is a 400 naming the parameter (as
    the schema's enum says), not a 404 that reads like a missing object."""

    def select_renderer(self, request, renderers, format_suffix=None):
        name = self.settings.URL_FORMAT_OVERRIDE
        if name and name in request.query_params and not request.query_params[name]:
            self.filter_renderers(renderers, "")  # given empty: a 400 like any bad value
        return super().select_renderer(request, renderers, format_suffix)

    def filter_renderers(self, renderers, format):  # noqa: A002 - DRF's argument name
        found = [r for r in renderers if r.format == format]
        if not found:
            known = sorted({r.format for r in renderers if r.format != "api"})
            raise serializers.ValidationError(
                {"format": [f"unknown format; one of {', '.join(known)}"]})
        return found


__all__ = ["CSVRenderer", "EXPORT_FORMATS", "FormatNegotiation", "XLSXRenderer", "tables"]
