"""Lending: programs, agreements, loans and their funder shares.

Design in brief (DESIGN.md §4–§6):
- A `Program` (合作产品) is one platform's product under one `Agreement`; it carries the product
  parameters the arithmetic needs (day count, penalty multiplier, grace, waterfall order, aging
  thresholds, claim and write-off days).
- An `Agreement` has effective-dated `AgreementVersion`s, each with its `AgreementFunder` rows
  (principal ratios summing to exactly 1, enforced by a deferred constraint trigger). A version is
  approved by a second person (maker-checker) and never edited once ACTIVE (a trigger refuses it).
- A `Loan` (借据) snapshots the agreement version and the bank's principal ratio at booking; for a
  loan disbursed from 2022-01-01 the bank's ratio is at most 0.70 (a CHECK constraint).
  The borrower is stored only as a keyed hash (`borrower_token`), never the partner's reference.
- A `LoanShare` per funder per loan tracks that funder's own balances: they are never
  recomputed as ratio × total, because rounding would drift.
- `Installment` rows are the schedule with what has been paid against each component.

The models are split by what they describe (amounts, programs, agreements, loans) and by the
sub-package that writes them (intake, reconciliation, settlement); all are importable from here.
"""

from lending.models.agreements import (
    Agreement,
    AgreementFunder,
    AgreementVersion,
    InterestSplitRule,
    LossSharingRule,
    PenaltySplitRule,
    VersionStatus,
)
from lending.models.amounts import MONEY, MONEY_ZERO, RATE, ZERO
from lending.models.loans import (
    MAX_BANK_RATIO,
    RATIO_RULE_FROM,
    Installment,
    InstallmentStatus,
    Loan,
    LoanShare,
    LoanState,
    RiskClass,
)
from lending.models.programs import (  # default_*: referenced by migrations as lending.models.*
    DEFAULT_WATERFALL,
    ClaimScope,
    Component,
    DayCount,
    Program,
    RepaymentMethod,
    default_methods,
    default_waterfall,
)

__all__ = [
    "DEFAULT_WATERFALL", "MAX_BANK_RATIO", "MONEY", "MONEY_ZERO", "RATE", "RATIO_RULE_FROM",
    "ZERO", "Agreement", "AgreementFunder", "AgreementVersion", "ClaimScope", "Component",
    "DayCount", "Installment", "InstallmentStatus", "InterestSplitRule", "Loan", "LoanShare",
    "LoanState", "LossSharingRule", "PenaltySplitRule", "Program", "RepaymentMethod",
    "RiskClass", "VersionStatus", "default_methods", "default_waterfall",
]

from lending.intake.models import *  # noqa: E402,F401,F403
from lending.reconciliation.models import *  # noqa: E402,F401,F403
from lending.settlement.models import *  # noqa: E402,F401,F403
