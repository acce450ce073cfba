"""The morning dashboard: per-day figures only (run totals, statements, breaks, alerts and the
`PortfolioDay` snapshot), in a fixed number of queries; never a scan of the loans."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Count, F, Max, Q, Sum

from config.sql_literals import lit
from lending.reconciliation.models import BreakStatus
from lending.settlement.models import Alert, RunState, SettlementRun, Statement
from partners.models import Partner, QuarantinedRow
from reports.models import DpdClass, PortfolioDay
from reports.selectors.common import AGE_BUCKETS, ZERO

TREND_DAYS = 30

# Collections by component on the dashboard: the borrower's cash applied to the loans.
COLLECTION_EVENTS = ("COLLECT", "SUSPENSE_APPLY")
CLAIM_EVENTS = ("CLAIM",)


@dataclass
class PartnerDay:
    partner: Partner
    run: SettlementRun
    collections: dict[str, Decimal] = field(default_factory=dict)  # component → Σ all funders
    collections_bank: Decimal = ZERO
    collections_total: Decimal = ZERO
    disbursed: Decimal = ZERO
    disbursed_bank: Decimal = ZERO
    claims: Decimal = ZERO
    statements: list[Statement] = field(default_factory=list)
    quarantined: int = 0
    breaks: dict[str, int] = field(default_factory=dict)  # age bucket → open breaks
    alerts: list[Alert] = field(default_factory=list)
    portfolio: list[dict] = field(default_factory=list)
    portfolio_date: date | None = None

    @property
    def check_problems(self) -> list[str]:
        return list(self.run.totals.get("check_problems") or [])

    @property
    def net_settlement(self) -> Decimal:
        return sum((s.net_amount for s in self.statements), ZERO)

    @property
    def break_buckets(self) -> list[tuple[str, int]]:
        return [(label, self.breaks.get(label, 0)) for label in AGE_BUCKETS]

    @property
    def breaks_open(self) -> int:
        return sum(self.breaks.values())


@dataclass
class Dashboard:
    partners: list[PartnerDay]
    portfolio: list[dict]  # per program (named) and DPD class, all partners
    dpd_classes: list[tuple[str, str]]
    trends: dict[str, list[tuple[str, Decimal]]]
    alerts_open: int
    portfolio_pending: list[str]  # partners whose latest DONE day has no snapshot yet


def _money(value) -> Decimal:
    return Decimal(str(value or "0"))


def _movement_sums(totals: dict) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """(event, component) → (bank, other funders) from a run's control totals."""
    out = {}
    for key, v in (totals or {}).get("movements", {}).items():
        event, _, component = key.partition("/")
        out[(event, component)] = (_money(v.get("bank")), _money(v.get("partners")))
    return out


def latest_runs() -> list[SettlementRun]:
    """Each partner's run of its latest business date (whatever its state)."""
    return list(SettlementRun.objects.select_related("partner")
                .order_by("partner_id", "-business_date").distinct("partner_id"))


def dashboard_get() -> Dashboard:
    """Everything on the morning dashboard, from per-day figures, in a fixed number of queries;
    never a scan of the loans (the portfolio is the stored snapshot)."""
    runs = latest_runs()
    days = {r.partner_id: PartnerDay(partner=r.partner, run=r) for r in runs}
    for day in days.values():
        sums = _movement_sums(day.run.totals)
        for (event, component), (bank, others) in sums.items():
            if event in COLLECTION_EVENTS:
                day.collections[component] = day.collections.get(component, ZERO) + bank + \
                    others
                day.collections_bank += bank
                day.collections_total += bank + others
            elif event == "DISBURSE":
                day.disbursed += bank + others
                day.disbursed_bank += bank
            elif event in CLAIM_EVENTS:
                day.claims += bank
    run_ids = [r.pk for r in runs]
    partner_of_run = {r.pk: r.partner_id for r in runs}
    for st in (Statement.objects.filter(run_id__in=run_ids).select_related("counterparty")
               .order_by("run_id", "counterparty__code")):
        days[partner_of_run[st.run_id]].statements.append(st)
    pairs = Q()
    for r in runs:
        pairs |= Q(partner_id=r.partner_id, business_date=r.business_date)
    if runs:
        for pid, n in (QuarantinedRow.objects.filter(pairs).values_list("partner_id")
                       .annotate(n=Count("id")).order_by()):
            days[pid].quarantined = n
    with connection.cursor() as cur:
        cur.execute(
            f"""SELECT partner_id,
                      CASE WHEN last_seen_on - business_date = 0 THEN '0'
                           WHEN last_seen_on - business_date <= 2 THEN '1-2'
                           WHEN last_seen_on - business_date <= 5 THEN '3-5'
                           ELSE '6+' END, count(*)
                 FROM lending_break WHERE status = {lit(BreakStatus.OPEN)} GROUP BY 1, 2""")
        for pid, bucket, n in cur.fetchall():
            if pid in days:
                days[pid].breaks[bucket] = n
    alerts = list(Alert.objects.filter(acknowledged_at__isnull=True).select_related("partner")
                  .order_by("partner_id", "-business_date"))
    for a in alerts:
        if a.partner_id in days:
            days[a.partner_id].alerts.append(a)
    # the portfolio: each partner's latest snapshot (reports.services.portfolio_days_build
    # stores it for the latest DONE day; until it has, the one before is shown, dated)
    last_done = dict(SettlementRun.objects.filter(state=RunState.DONE)
                     .values_list("partner_id").annotate(d=Max("business_date")).order_by())
    snapshot_of = dict(PortfolioDay.objects.values_list("partner_id")
                       .annotate(d=Max("business_date")).order_by())
    pending = sorted(days[pid].partner.code for pid, d in last_done.items()
                     if pid in days and snapshot_of.get(pid) != d)
    for pid, d in snapshot_of.items():
        if pid in days:
            days[pid].portfolio_date = d
    portfolio: dict[tuple[str, str], dict] = {}
    if snapshot_of:
        rows = (PortfolioDay.objects.filter(_pairs(snapshot_of))
                .values("partner_id", "business_date", "partner__code", "program__code",
                        "program__name",
                        "dpd_class", "loans", "principal_outstanding")
                .order_by("partner__code", "program__code", "dpd_class"))
        for row in rows:
            key = (row["partner__code"], row["program__code"])
            line = portfolio.setdefault(key, {
                "partner": row["partner__code"], "as_of": snapshot_of[row["partner_id"]], "program": row["program__name"],
                "program_code": row["program__code"], "loans": 0, "principal": ZERO,
                "classes": {c: (0, ZERO) for c, _ in DpdClass.choices}})
            line["classes"][row["dpd_class"]] = (row["loans"], row["principal_outstanding"])
            line["loans"] += row["loans"]
            line["principal"] += row["principal_outstanding"]
            if row["partner_id"] in days:
                days[row["partner_id"]].portfolio.append(row)
    for line in portfolio.values():
        line["cells"] = [line["classes"][c] for c, _ in DpdClass.choices]
    return Dashboard(partners=sorted(days.values(), key=lambda d: d.partner.code),
                     portfolio=list(portfolio.values()), dpd_classes=list(DpdClass.choices),
                     trends=trends_get(runs), alerts_open=len(alerts),
                     portfolio_pending=pending)


def _pairs(partner_dates: dict[int, date]) -> Q:
    q = Q()
    for pid, d in partner_dates.items():
        q |= Q(partner_id=pid, business_date=d)
    return q


def trends_get(runs: list[SettlementRun]) -> dict[str, list[tuple[str, Decimal]]]:
    """Per business day over the 30 days up to the latest run: collections, net settlement
    with the platforms, breaks seen (opened + seen again) and the DPD 30+ ratio."""
    if not runs:
        return {"collections": [], "net": [], "breaks": [], "dpd30": []}
    end = max(r.business_date for r in runs)
    start = end - timedelta(days=TREND_DAYS - 1)
    collections: dict[date, Decimal] = defaultdict(lambda: ZERO)
    breaks: dict[date, Decimal] = defaultdict(lambda: ZERO)
    for day, movements, seen in (SettlementRun.objects
                                 .filter(business_date__range=(start, end), state=RunState.DONE)
                                 .values_list("business_date", "totals__movements",
                                              "totals__breaks").order_by()):
        for key, v in (movements or {}).items():
            if key.partition("/")[0] in COLLECTION_EVENTS:
                collections[day] += _money(v.get("bank")) + _money(v.get("partners"))
        seen = seen or {}
        breaks[day] += Decimal(int(seen.get("opened") or 0) + int(seen.get("seen_again") or 0))
    net = dict(Statement.objects.filter(business_date__range=(start, end),
                                        run__state=RunState.DONE,
                                        counterparty_id=F("run__partner_id"))
               .values_list("business_date").annotate(n=Sum("net_amount")).order_by())
    dpd = defaultdict(lambda: [ZERO, ZERO])
    for day, cls, principal in (PortfolioDay.objects.filter(business_date__range=(start, end))
                                .values_list("business_date", "dpd_class")
                                .annotate(p=Sum("principal_outstanding")).order_by()):
        dpd[day][1] += principal
        if cls in (DpdClass.DPD_31_60, DpdClass.DPD_61_90, DpdClass.DPD_90_PLUS):
            dpd[day][0] += principal
    days = sorted(set(collections) | set(net))
    return {
        "collections": [(d.isoformat(), collections[d]) for d in days],
        "net": [(d.isoformat(), net.get(d, ZERO)) for d in days],
        "breaks": [(d.isoformat(), breaks[d]) for d in days],
        "dpd30": [(d.isoformat(), (over / total * 100).quantize(Decimal("0.01")))
                  for d, (over, total) in sorted(dpd.items()) if total],
    }
