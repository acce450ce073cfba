"""The partner file contract, version 1.1, as data (see /shared/FILE_FORMATS.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class KindSpec:
    kind: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    main_amount: str  # summed into the control file's amount_total

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


KINDS: dict[str, KindSpec] = {
    "loans": KindSpec(
        "loans",
        required=(
            "loan_no", "program_code", "borrower_ref", "principal", "annual_rate",
            "term_months", "repayment_method", "disbursed_on", "bank_approval_ref",
        ),
        optional=("first_due_on", "bank_ratio"),
        main_amount="principal",
    ),
    "repayments": KindSpec(
        "repayments",
        required=("txn_no", "loan_no", "paid_on", "amount", "payer", "kind"),
        optional=("reported_principal", "reported_interest", "reported_penalty", "reported_fee"),
        main_amount="amount",
    ),
    "reversals": KindSpec(
        "reversals",
        required=("txn_no", "reverses_txn_no", "reversed_on", "amount"),
        optional=("reason",),
        main_amount="amount",
    ),
    "balances": KindSpec(
        "balances",
        required=(
            "loan_no", "as_of", "principal_outstanding", "interest_outstanding",
            "penalty_outstanding", "dpd", "status",
        ),
        optional=(),
        main_amount="principal_outstanding",
    ),
}

# `<PARTNER>_<KIND>_<YYYYMMDD>.csv`; partner codes are [A-Z0-9_], so the kind anchors the split.
FILE_NAME_RE = re.compile(
    r"^(?P<partner>[A-Z0-9_]{2,32})_(?P<kind>loans|repayments|reversals|balances)_"
    r"(?P<date>\d{8})\.csv$"
)
CONTROL_SUFFIX = ".ctl"

# Value formats, shared by the row checks (which run them in SQL, see lending.intake).
# PostgreSQL's regex engine expands bounded repeats ({1,64}) into large automata: lengths are
# checked with length() instead, the patterns use + (ten times faster over a million rows).
IDENTIFIER_RE = r"^[A-Za-z0-9_-]+$"  # and length <= 64
IDENTIFIER_MAX = 64
AMOUNT_RE = r"^-?[0-9]+(\.[0-9][0-9]?)?$"  # plain decimal, at most 2 decimals
AMOUNT_MAX_INT_DIGITS = 16  # numeric(18,2): 16 integer digits (the length of the sign
# and of the decimals does not count: 12345678901234567 would overflow, -1234567890123456.12 fits)
RATE_RE = r"^[0-9]+(\.[0-9]+)?$"  # annual rate as a fraction
RATE_MAX_DECIMALS = 8
DATE_RE = r"^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{8})$"
AMOUNT_PY_RE = re.compile(AMOUNT_RE)

ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "gb18030": "gb18030", "gbk": "gb18030",
             "gb2312": "gb18030"}

# Structure (contract 1.1): what a file must be before any row is checked.
CONTROL_MAX_BYTES = 4096  # a larger control file is rejected unread
# The control file's keys and the JSON types each may have (amount_total: a string of the
# amount format, or a JSON number read exactly as a decimal).
CONTROL_KEYS: dict[str, tuple[str, ...]] = {
    "partner": ("string",), "kind": ("string",), "business_date": ("string",),
    "rows": ("integer",), "amount_total": ("string", "number"), "sha256": ("string",),
}
CONTROL_MAX_ROWS = (1 << 63) - 1  # the registry's bigint
# A field longer than this rejects the file (a free-text reason of 4,096 characters is ample;
# a longer one is a broken file, typically an unclosed quote that swallowed the rest).
FIELD_MAX = 4096
# Control characters (Unicode category Cc) other than tab, CR and LF: a file holding one is
# rejected, naming the line (PostgreSQL cannot store NUL in text; the others are never data).
CONTROL_CHARS_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
