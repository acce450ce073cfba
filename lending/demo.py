"""Demo data, created through the project's own services (never raw fixtures).

Two platforms (ALPHA, BETA — BETA sends GB18030 files), a licensed guarantor (GUARDIAN), three
agreements with different split rules, three programs and a few thousand loans disbursed over
several months. Deterministic (a seeded generator) and idempotent: a second run adds nothing.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from lending import demo_disputes, services
from lending.models import Agreement, Program
from partners.models import FileEncoding, Partner, PartnerKind, PartnerUser

DEMO_START = date(2026, 8, 1)
# To the last business day before this session's date: the first cohort's instalments of
# early September are then 90 days past due (claims at 80, non-accrual and BETA's write-off
# at 90), and the recoveries after them have begun.
DEMO_END = date(2026, 12, 4)
# The share of loans whose borrower stops paying at the first instalment (a consumer
# micro-loan book's 2–4 % default rate): they reach the claim, non-accrual and write-off
# thresholds, so that risk staff see those parts of the day in the demo.
DEFAULTER_PERCENT = 4
LOANS_PER_DAY = 24
STAFF_USERNAME = "admin"
STAFF_PASSWORD = "demo-admin-pass"  # noqa: S105 - printed by `make demo`; development only
PARTNER_PASSWORD = "demo-partner-pass"  # noqa: S105 - the platforms' users; development only


@dataclass(frozen=True)
class ProgramSpec:
    partner: str
    agreement: str
    code: str
    name: str
    methods: tuple[str, ...]
    rates: tuple[str, ...]
    terms: tuple[int, ...]
    principals: tuple[int, int]


PROGRAMS = (
    ProgramSpec("ALPHA", "AG-ALPHA", "CASH", "ALPHA cash loan",
                ("EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL"), ("0.12", "0.18", "0.216"),
                (3, 6, 12), (500, 20000)),
    ProgramSpec("ALPHA", "AG-ALPHA-FY", "FLEX", "ALPHA flexible credit (fixed bank yield)",
                ("INTEREST_FIRST", "DAILY"), ("0.18",), (0, 6, 12), (1000, 10000)),
    ProgramSpec("BETA", "AG-BETA", "SHOP", "BETA shopping instalments",
                ("EQUAL_INSTALLMENT",), ("0.15", "0.24"), (6, 12, 24), (300, 8000)),
)


def _partner(code: str, kind: str, name: str, encoding: str = FileEncoding.UTF8) -> Partner:
    obj, _ = Partner.objects.get_or_create(
        code=code, defaults={"legal_name": name, "kind": kind, "file_encoding": encoding}
    )
    return obj


def _user(username: str, *, superuser: bool = False, password: str | None = None):
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is None:
        if superuser:
            user = User.objects.create_superuser(username, f"{username}@bank.test", password)
        else:
            user = User.objects.create_user(username, f"{username}@bank.test", password,
                                            is_staff=True)
    return user


def _approver(username: str):
    """A staff user holding the approver role (four eyes: agreement versions need it)."""
    from django.contrib.auth.models import Group

    from controls.roles import APPROVER

    user = _user(username)
    user.groups.add(Group.objects.get(name=APPROVER))
    return user


def _agreement(code: str, *, platform: Partner, guarantor: Partner | None, bank_ratio: str,
               bank_rate: str | None = None, **terms) -> None:
    if Agreement.objects.filter(code=code).exists():
        return
    bank = Partner.objects.get(kind=PartnerKind.BANK)
    agreement = services.agreement_create(
        code=code, name=f"{platform.legal_name} joint lending", platform=platform,
        guarantor=guarantor, signed_on=date(2025, 12, 1),
    )
    ratio = Decimal(bank_ratio)
    version = services.agreement_version_draft(
        agreement=agreement, effective_from=date(2026, 1, 1),
        funders=[
            services.FunderTerms(bank, ratio, Decimal(bank_rate) if bank_rate else None),
            services.FunderTerms(platform, Decimal("1") - ratio),
        ],
        created_by=_user("demo-maker"), **terms,
    )
    services.agreement_version_approve(version=version, approved_by=_approver("demo-checker"))


def partner_logins() -> list[tuple[str, str]]:
    """(partner code, username) of the demo's partner users: one per platform."""
    return [(p.code, f"{p.code.lower()}-partner")
            for p in Partner.objects.filter(kind=PartnerKind.PLATFORM).order_by("code")]


def _partner_users() -> None:
    """One partner user per platform (the partner pages' login), idempotent."""
    User = get_user_model()
    for code, username in partner_logins():
        if not User.objects.filter(username=username).exists():
            user = User.objects.create_user(username, f"{username}@partner.test",
                                            PARTNER_PASSWORD)
            PartnerUser.objects.create(user=user, partner=Partner.objects.get(code=code))


@transaction.atomic
def demo_setup() -> None:
    """Partners, agreements (maker-checker approved) and programs; idempotent."""
    _user(STAFF_USERNAME, superuser=True, password=STAFF_PASSWORD)
    alpha = _partner("ALPHA", PartnerKind.PLATFORM, "Alpha Digital Finance Platform Co.")
    beta = _partner("BETA", PartnerKind.PLATFORM, "贝塔网络科技有限公司", FileEncoding.GB18030)
    guardian = _partner("GUARDIAN", PartnerKind.GUARANTOR, "Guardian Financing Guarantee Co.")
    _agreement("AG-ALPHA", platform=alpha, guarantor=guardian, bank_ratio="0.70")
    _agreement("AG-ALPHA-FY", platform=alpha, guarantor=guardian, bank_ratio="0.70",
               bank_rate="0.08", interest_split_rule="BANK_FIXED_YIELD")
    _agreement("AG-BETA", platform=beta, guarantor=None, bank_ratio="0.60",
               penalty_split_rule="PLATFORM")
    for spec in PROGRAMS:
        partner = Partner.objects.get(code=spec.partner)
        if Program.objects.filter(partner=partner, code=spec.code).exists():
            continue
        services.program_create(
            partner=partner, agreement=Agreement.objects.get(code=spec.agreement),
            code=spec.code, name=spec.name, repayment_methods=list(spec.methods),
            min_annual_rate=Decimal("0.10"), max_annual_rate=Decimal("0.24"),
            max_principal=Decimal("50000"), max_term_months=24,
            # BETA's loans have no guarantor: the bank writes them off at 90 days past due
            claim_trigger_dpd=80, write_off_dpd=90 if spec.partner == "BETA" else 180,
        )
    _partner_users()
    _bank_figures()


def _bank_figures() -> None:
    """The bank's figures the limits R2/R3 are measured against (issue 21; staff enter them
    with an effective date): DOMAIN §1.2's worked example, net tier-1 capital ¥20 bn and total
    loans ¥300 bn. Idempotent."""
    from controls.models import BankFigure, LimitBankFigure

    for figure, amount in ((BankFigure.NET_TIER1_CAPITAL, "20000000000"),
                           (BankFigure.TOTAL_LOANS, "300000000000")):
        if not LimitBankFigure.objects.filter(figure=figure).exists():
            LimitBankFigure.objects.create(figure=figure, amount=Decimal(amount),
                                           effective_from=date(2020, 1, 1),
                                           note="demo: DOMAIN §1.2's worked example")


def is_defaulter(loan_no: str) -> bool:
    """A borrower who never pays (deterministic, from the loan number)."""
    return zlib.crc32(loan_no.encode()) % 100 < DEFAULTER_PERCENT


def _loan_rows(day: date, partner: str, rng: random.Random, per_day: int) -> list[tuple]:
    """New loans of one partner for one day, as rows of its `loans` file."""
    specs = [p for p in PROGRAMS if p.partner == partner]
    rows = []
    for n in range(per_day):
        spec = specs[rng.randrange(len(specs))]
        method = rng.choice(spec.methods)
        term = 0 if method == "DAILY" else rng.choice([t for t in spec.terms if t])
        principal = Decimal(rng.randrange(spec.principals[0] * 100, spec.principals[1] * 100)) / 100
        loan_no = f"{spec.code}{day:%Y%m%d}{n:04d}"
        rows.append((loan_no, spec.code, f"U{rng.randrange(10**8):08d}", f"{principal:.2f}",
                     rng.choice(spec.rates), term, method, day.isoformat(), "",
                     f"BKAPR-{loan_no}"))
    return rows


# Instalments falling due since the previous business day (a weekend's or a holiday's are paid
# in the next business day's file, as platforms send them).
_DUE_TODAY = """
SELECT l.loan_no, l.id, i.principal_due - i.principal_paid, i.interest_due - i.interest_paid
  FROM lending_installment i JOIN lending_loan l ON l.id = i.loan_id
 WHERE l.partner_id = %s AND i.due_on > %s AND i.due_on <= %s
   AND l.state IN ('ACTIVE', 'OVERDUE')
   AND l.repayment_method <> 'DAILY' AND i.status <> 'PAID'
 ORDER BY l.id"""

_OVERDUE = """
SELECT l.loan_no, l.id, SUM(i.principal_due - i.principal_paid + i.interest_due - i.interest_paid)
  FROM lending_installment i JOIN lending_loan l ON l.id = i.loan_id
 WHERE l.partner_id = %s AND l.state = 'OVERDUE' AND i.due_on < %s AND i.status <> 'PAID'
 GROUP BY l.loan_no, l.id ORDER BY l.id"""


def _day_files(day: date, partner: Partner, rng: random.Random, per_day: int, *,
               end: date = DEMO_END) -> dict:
    """What the platform sends for business day `day`: new loans, repayments, reversals,
    balances (with the figures it gets wrong for days on end before `end`, demo_disputes)."""
    from django.db import connection

    from partners.calendar import previous_business_day

    before = previous_business_day(day)

    loans = _loan_rows(day, partner.code, rng, per_day)
    repayments: list[tuple] = []
    on_time: dict[int, tuple[Decimal, Decimal]] = {}
    n = 0

    def txn() -> str:
        nonlocal n
        n += 1
        return f"T{day:%Y%m%d}{n:05d}"

    with connection.cursor() as cur:
        cur.execute(_DUE_TODAY, [partner.pk, before, day])
        for loan_no, lid, principal, interest in cur.fetchall():
            due = principal + interest
            roll = rng.random()
            if is_defaulter(loan_no):
                continue
            if roll < 0.84:  # on time
                repayments.append((txn(), loan_no, day, f"{due:.2f}", "BORROWER", "SCHEDULED"))
                on_time[lid] = (principal, interest)
            elif roll < 0.87:  # pays more than due: the excess waits in suspense
                repayments.append((txn(), loan_no, day, f"{due + 50:.2f}", "BORROWER",
                                   "SCHEDULED"))
            elif roll < 0.90:  # partial
                repayments.append((txn(), loan_no, day, f"{(due / 2):.2f}", "BORROWER",
                                   "SCHEDULED"))
            elif roll < 0.93:  # due instalment plus a prepayment of principal
                repayments.append((txn(), loan_no, day, f"{due + 500:.2f}", "BORROWER",
                                   "PREPAYMENT"))
            # else: does not pay today (late, or on its way to a claim)
        cur.execute(_OVERDUE, [partner.pk, day])
        for loan_no, _lid, owed in cur.fetchall():
            if is_defaulter(loan_no):
                continue
            if rng.random() < 0.08:  # a late payer catches up (penalty may stay open)
                repayments.append((txn(), loan_no, day, f"{owed:.2f}", "BORROWER",
                                   "SCHEDULED"))
        cur.execute(
            """SELECT l.loan_no, c.amount FROM lending_claim c JOIN lending_loan l
                 ON l.id = c.loan_id
                WHERE l.partner_id = %s AND c.status = 'RAISED' AND c.raised_on < %s
                ORDER BY l.id""", [partner.pk, day])
        for loan_no, amount in cur.fetchall():  # 代偿: the guarantor pays the raised claim
            repayments.append((txn(), loan_no, day, f"{amount:.2f}", "GUARANTOR", "SCHEDULED"))
        cur.execute(
            """SELECT loan_no, state, state = 'WRITTEN_OFF' AND NOT EXISTS (
                      SELECT 1 FROM lending_movement m WHERE m.loan_id = l.id
                         AND m.event = 'WO_RECOVERY')
                 FROM lending_loan l WHERE partner_id = %s
                  AND state IN ('CLAIMED', 'WRITTEN_OFF') ORDER BY id""", [partner.pk])
        for loan_no, state, first in cur.fetchall():
            # a defaulted borrower pays something now and then: after the claim a recovery
            # routed to the guarantor, after the write-off a recovery of the written-off loan
            # (the collection agency's first one on the next business day)
            if rng.random() < (0.10 if state == "CLAIMED" else 0.30) or first:
                repayments.append((txn(), loan_no, day, "100.00" if state == "CLAIMED"
                                   else "80.00", "BORROWER", "SCHEDULED"))
        cur.execute(
            """SELECT loan_no FROM lending_loan WHERE partner_id = %s
                AND repayment_method = 'DAILY' AND state = 'ACTIVE' ORDER BY id""", [partner.pk])
        for (loan_no,) in cur.fetchall():
            if rng.random() < 0.02:  # 随借随还: repay part whenever
                repayments.append((txn(), loan_no, day, "300.00", "BORROWER", "PREPAYMENT"))
        cur.execute(
            """SELECT txn_no, amount FROM lending_stagedrepayment
                WHERE partner_id = %s AND business_date = %s AND status = 'APPLIED'
                  AND payer = 'BORROWER' ORDER BY id""", [partner.pk, before])
        reversals = [(f"V{txn_no}", txn_no, day, f"{amount:.2f}", "冲正 card payment reversed")
                     for txn_no, amount in cur.fetchall() if rng.random() < 0.01]
        cur.execute(
            """SELECT l.loan_no, l.id, SUM(x.principal), SUM(x.interest),
                      SUM(x.penalty + x.compound), l.oldest_unpaid_due_on, l.state
                 FROM lending_share_positions(%s, %s) x JOIN lending_loan l ON l.id = x.loan_id
                WHERE l.state IN ('ACTIVE', 'OVERDUE', 'CLAIMED')
                GROUP BY l.loan_no, l.id ORDER BY l.id""", [day, partner.pk])
        balances = []
        for loan_no, lid, principal, interest, penalty, oldest, state in cur.fetchall():
            dpd = max((day - oldest).days, 0) if oldest else 0
            if lid in on_time:  # the platform already counts today's on-time payment
                principal -= on_time[lid][0]
                interest -= on_time[lid][1]
                dpd = 0
            status = "CLAIMED" if state == "CLAIMED" else ("OVERDUE" if dpd else "ACTIVE")
            balances.append((loan_no, day, f"{principal:.2f}", f"{interest:.2f}",
                             f"{penalty:.2f}", dpd, status))
    balances += [(r[0], day, r[3], "0.00", "0.00", 0, "ACTIVE") for r in loans]
    balances = demo_disputes.balances_disputed(balances, day, partner.pk, partner.code, end)
    if day.weekday() == 0:  # now and then a platform sends a payment for a loan we never had
        repayments.append((txn(), f"NOSUCH{day:%m%d}", day, "100.00", "BORROWER", "SCHEDULED"))
    return {"loans": loans, "repayments": repayments, "reversals": reversals,
            "balances": balances}


def demo_settle(*, start: date = DEMO_START, end: date = DEMO_END,
                per_day: int = LOANS_PER_DAY // 2, seed: int = 20261128,
                progress=None) -> int:
    """Deliver each demo business day's files through intake and settle it; days already DONE
    are kept. Only business days of the calendar (partners.calendar: weekends, the 2026 public
    holidays and their make-up working days) are delivered and settled.

    Returns the number of partner-days settled now (0 on a second run).
    """
    from lending.intake.writer import partner_files_import
    from lending.settlement import runner
    from lending.settlement.models import RunState, SettlementRun
    from partners.calendar import business_days
    from reports.services import portfolio_days_build

    settled = 0
    month = None
    for day in business_days(start, end):
        for partner in Partner.objects.filter(code__in=("ALPHA", "BETA")).order_by("code"):
            run = SettlementRun.objects.filter(partner=partner, business_date=day).first()
            if run is not None and run.state == RunState.DONE:
                continue
            rng = random.Random(f"{seed}:{partner.code}:{day}")
            if run is None or run.state != RunState.WAITING:
                partner_files_import(partner=partner.code, business_date=day,
                                     files=_day_files(day, partner, rng, per_day, end=end),
                                     encoding=partner.file_encoding)
            run = runner.settlement_run(partner=partner, business_date=day)
            if run.state != RunState.DONE:
                raise runner.SettlementError(f"{partner.code} {day}: {run.state} {run.error}")
            settled += 1
        # the day's portfolio snapshot, as the 15-minute task takes it after each settled day
        # (the dashboard's DPD 30+ trend reads one per day)
        portfolio_days_build()
        if progress and day.month != month:
            month = day.month
            progress(f"settling {day:%Y-%m} (from {day})")
    return settled


def demo_status(*, end: date = DEMO_END) -> list[dict]:
    """Per demo platform: its last settled (DONE) business day, its first business day up to
    `end` that is not DONE, and its open alerts (raised for days past their cut-off)."""
    from lending.settlement import scheduler
    from lending.settlement.models import Alert, RunState, SettlementRun

    scheduler.raise_alerts(up_to=end)  # the demo's data ends at `end`
    out = []
    for partner in Partner.objects.filter(code__in=("ALPHA", "BETA")).order_by("code"):
        last = (SettlementRun.objects.filter(partner=partner, state=RunState.DONE)
                .order_by("-business_date").values_list("business_date", flat=True).first())
        open_days = scheduler.open_days(partner, end)
        alerts = [a.message for a in Alert.objects.filter(partner=partner,
                                                          acknowledged_at__isnull=True)
                  .order_by("business_date")]
        out.append({"partner": partner.code, "last_settled": last,
                    "first_open": open_days[0] if open_days else None, "alerts": alerts})
    return out


def demo_statements(*, end: date = DEMO_END) -> dict:
    """The statements' life in the demo (idempotent): the statements of DONE runs issued, ALPHA
    confirms its last statement up to `end` (as its partner user), and the latest ALPHA-run
    statement whose counterparty pays the bank before that is paid from a bank statement line.
    Returns {"confirmed": reference, "paid": reference} (None where there is none)."""
    from lending.settlement import statements as life
    from lending.settlement.models import RunState, Statement, StatementStatus

    life.statements_issue()
    alpha = Partner.objects.get(code="ALPHA")
    own = (Statement.objects.filter(run__partner=alpha, run__state=RunState.DONE,
                                    business_date__lte=end)
           .select_related("counterparty", "run__partner").order_by("-business_date", "pk"))
    last = own.filter(counterparty=alpha).first()
    if last is not None and last.status == StatementStatus.ISSUED:
        by = PartnerUser.objects.filter(partner=alpha).order_by("pk").first()
        last = life.statement_confirm(statement=last, by=by.user if by else None)
    paid = own.filter(net_amount__gt=0).exclude(pk=last.pk if last else None).first()
    if paid is not None and paid.status != StatementStatus.PAID:
        due = paid.net_amount - sum(p.amount for p in paid.payments.all())
        result = life.bank_statement_import(lines=[life.BankLine(
            line=2, value_date=paid.due_date, amount=due, reference=paid.payment_reference,
            bank_line_id=f"DEMO-BANK-{paid.payment_reference}")])
        if result.errors:
            raise life.StatementError("; ".join(result.errors))
    return {"confirmed": last.payment_reference if last else None,
            "paid": paid.payment_reference if paid else None}
