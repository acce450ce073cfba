"""Demo data, created through the project's own services (never raw fixtures).

Two platforms (ALPHA, BETA — BETA sends GB18030 files), a licensed guarantor (GUARDIAN), three
agreements with different split rules, three programs and a few thousand loans disbursed over
several months. Deterministic (a seeded generator) and idempotent: a second run adds nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from lending import services
from lending.models import Agreement, Loan, Program
from partners.models import FileEncoding, Partner, PartnerKind

DEMO_START = date(2026, 6, 1)
DEMO_END = date(2026, 10, 31)
LOANS_PER_DAY = 20
STAFF_USERNAME = "admin"
STAFF_PASSWORD = "demo-admin-pass"  # noqa: S105 - printed by `make demo`; development only


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
    services.agreement_version_approve(version=version, approved_by=_user("demo-checker"))


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
            claim_trigger_dpd=80, write_off_dpd=180,
        )


def demo_loans(start: date = DEMO_START, end: date = DEMO_END, per_day: int = LOANS_PER_DAY,
               seed: int = 20261128) -> list[services.LoanToBook]:
    """The demo's loans, one list per run: deterministic for a seed."""
    rng = random.Random(seed)
    programs = {(p.partner.code, p.code): p for p in Program.objects.select_related("partner")}
    out: list[services.LoanToBook] = []
    day = start
    while day <= end:
        for n in range(per_day):
            spec = PROGRAMS[rng.randrange(len(PROGRAMS))]
            program = programs[(spec.partner, spec.code)]
            method = rng.choice(spec.methods)
            term = 0 if method == "DAILY" else rng.choice([t for t in spec.terms if t])
            principal = Decimal(rng.randrange(spec.principals[0] * 100, spec.principals[1] * 100,
                                              1)) / 100
            loan_no = f"{spec.code}{day:%Y%m%d}{n:04d}"
            out.append(services.LoanToBook(
                partner_id=program.partner_id, loan_no=loan_no, program_id=program.pk,
                borrower_token=services.borrower_token(
                    partner_code=spec.partner, borrower_ref=f"U{rng.randrange(10**8):08d}"),
                principal=principal.quantize(Decimal("0.01")),
                annual_rate=Decimal(rng.choice(spec.rates)), term_months=term,
                repayment_method=method, disbursed_on=day,
                bank_approval_ref=f"BKAPR-{loan_no}", source_ref=loan_no,
            ))
        day += timedelta(days=1)
    return out


def demo_book_loans() -> services.BookingResult:
    """Book the demo loans once; a second call books nothing."""
    if Loan.objects.filter(loan_no__startswith="CASH2026").exists():
        return services.BookingResult()
    result = services.BookingResult()
    loans = demo_loans()
    by_day: dict[date, list[services.LoanToBook]] = {}
    for loan in loans:
        by_day.setdefault(loan.disbursed_on, []).append(loan)
    for day, batch in sorted(by_day.items()):
        r = services.loans_book(loans=batch, booked_on=day)
        result.booked += r.booked
        result.principal += r.principal
        result.rejected.extend(r.rejected)
    return result
