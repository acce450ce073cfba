"""The morning dashboard as downloads (issue 22, exports: "every list and report above"): one
table per part of the page — the partners' last days, the portfolio by program and DPD class,
the 30-day trends — as the sheets of one XLSX, or one of them as CSV (`?table=`), from the same
`Dashboard` the page renders."""

from __future__ import annotations

from functools import partial

from django.http import StreamingHttpResponse

from reports import exports, page_downloads
from reports.selectors import AGE_BUCKETS, Dashboard

COMPONENT_COLUMNS = ("PRINCIPAL", "INTEREST", "PENALTY", "COMPOUND", "FEE", "COSTS")


def _days(board: Dashboard) -> exports.Table:
    header = ["partner", "business_date", "run_state", "check_problems",
              *(f"collected_{c.lower()}" for c in COMPONENT_COLUMNS), "collected_total",
              "collected_bank", "disbursed", "disbursed_bank", "claims_paid", "net_settlement",
              "statements", "quarantined_rows",
              *(f"breaks_open_{label}" for label in AGE_BUCKETS), "alerts_open"]
    rows = [[d.partner.code, d.run.business_date, d.run.state, len(d.check_problems),
             *(d.collections.get(c) for c in COMPONENT_COLUMNS), d.collections_total,
             d.collections_bank, d.disbursed, d.disbursed_bank, d.claims, d.net_settlement,
             "; ".join(f"{s.counterparty.code} {s.net_amount} {s.status}"
                       for s in d.statements),
             d.quarantined, *(n for _, n in d.break_buckets), len(d.alerts)]
            for d in board.partners]
    money = frozenset(h for h in header if h.startswith(("collected_", "disbursed", "claims",
                                                          "net_")))
    return exports.Table("dashboard-partner-days", header, rows, money=money,
                         sheet="Partner days")


def _portfolio(board: Dashboard) -> exports.Table:
    classes = [c for c, _ in board.dpd_classes]
    header = ["partner", "as_of", "program_code", "program",
              *(f"{c.lower()}_{what}" for c in classes for what in ("loans", "principal")),
              "loans", "principal_outstanding"]
    rows = [[p["partner"], p["as_of"], p["program_code"], p["program"],
             *(v for loans, principal in p["cells"] for v in (loans, principal)),
             p["loans"], p["principal"]] for p in board.portfolio]
    money = frozenset(h for h in header if h.endswith("principal") or h.endswith("outstanding"))
    return exports.Table("dashboard-portfolio", header, rows, money=money, sheet="Portfolio")


def _trends(board: Dashboard) -> exports.Table:
    series = {name: dict(points) for name, points in board.trends.items()}
    days = sorted({day for points in series.values() for day in points})
    header = ["business_date", "collections", "net_settlement", "breaks_seen",
              "dpd30_ratio_percent"]
    rows = [[day, series["collections"].get(day), series["net"].get(day),
             series["breaks"].get(day), series["dpd30"].get(day)] for day in days]
    return exports.Table("dashboard-trends", header, rows,
                         money=frozenset({"collections", "net_settlement"}), sheet="Trends")


TABLES = {"days": _days, "portfolio": _portfolio, "trends": _trends}


def dashboard_download(board: Dashboard, fmt: str, table: str | None) -> StreamingHttpResponse:
    """XLSX: every table, one sheet each. CSV: the table named by `table` (default "days")."""
    return page_downloads.download({name: partial(build, board) for name, build in TABLES.items()},
                                   fmt, table, "dashboard")
