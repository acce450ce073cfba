"""Set-based row checks of a partner file, one SQL statement per step.

The raw rows sit in the temporary table `intake_raw` (every column text, NULL when empty). Per
row, the FIRST failing check is one text `CODE<US>column<US>message` (NULL when the row is good):
one `CASE`, which stops at the first true WHEN. Only the failing rows are written
(`intake_err`); the good rows go straight from `intake_raw` into the kind's staging table.

Fast path: while streaming the file, Python matches each line against one compiled regex built
from the columns' formats (`Checks.line_regex`). A match proves every format check of the row
(MISSING_FIELD and BAD_* that look at the value alone), so the row is marked `ok` and its CASE
evaluates only the checks that need a join or a comparison (real calendar date, FUTURE_DATE,
references, duplicates, limits, > 0). Every other row gets the full CASE, exactly as before.
A check is marked `fmt=True` only where its column's fast pattern implies it is false.

Columns, regexes and codes are constants of the contract, composed with `psycopg.sql`; values
(partner, business date, file) are always parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from psycopg import sql

from lending.domain import rules
from lending.domain.loan_day import LoanStatus
from partners.files.contract import (
    AMOUNT_MAX_INT_DIGITS,
    AMOUNT_RE,
    FIELD_MAX,
    IDENTIFIER_MAX,
    IDENTIFIER_RE,
    KINDS,
    RATE_MAX_DECIMALS,
    RATE_RE,
)

US = "\x1f"  # separates code, column and message inside the error text

L = sql.Literal
Id = sql.Identifier

# Fast-path patterns (Python `re`, matched against the decoded line). Each is a SUFFICIENT
# condition for its column's format checks: a value it matches passes them. [0-9], never \d
# (which matches any Unicode digit).
FAST_ID = r"[A-Za-z0-9_-]{1,64}"
FAST_AMOUNT = r"[0-9]{1,16}(?:\.[0-9]{1,2})?"  # no sign (so >= 0), fits numeric(18,2)
FAST_RATE = r"0(?:\.[0-9]{1,8})?"  # 0 <= rate < 1, at most 8 decimals
FAST_DATE = r"(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{8})"  # the syntax; the calendar is SQL's
# any field the csv module would read unquoted, without control characters (the slow path
# rejects them, see CONTROL_CHARS_RE) and at most FIELD_MAX characters (longer: rejected)
FAST_TEXT_CHAR = r'[^,"\r\n\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]'
FAST_TEXT = FAST_TEXT_CHAR + f"{{0,{FIELD_MAX}}}"


def _r(col: str) -> sql.Composable:
    return sql.SQL("r.{}").format(Id(col))


def amount_ok(col: str, alias: str = "r") -> sql.Composable:
    """The value parses as a contract amount (and fits numeric(18,2): at most 16 integer
    digits; a longer one overflowed the staging insert)."""
    c = sql.SQL("{}.{}").format(Id(alias), Id(col))
    return sql.SQL("({c} ~ {re} AND length(ltrim(split_part({c}, '.', 1), '-')) <= {n})").format(
        c=c, re=L(AMOUNT_RE), n=L(AMOUNT_MAX_INT_DIGITS))


def rate_ok(col: str) -> sql.Composable:
    c = _r(col)
    return sql.SQL("({c} ~ {re} AND length(split_part({c}, '.', 2)) <= {n} AND {c}::numeric < 1)"
                   ).format(c=c, re=L(RATE_RE), n=L(RATE_MAX_DECIMALS))


def err(code: str, col: str, message: sql.Composable) -> sql.Composable:
    return sql.SQL("{} || {}").format(L(f"{code}{US}{col}{US}"), message)


def msg(text: str, col: str | None = None) -> sql.Composable:
    """A message literal, followed by the quoted raw value of `col` when given."""
    if col is None:
        return L(text)
    return sql.SQL("{} || quote_literal({})").format(L(text), _r(col))


@dataclass
class Checks:
    """The checks of a kind in contract order, and each column's fast-path pattern."""

    whens: list[tuple[sql.Composable, sql.Composable, bool]] = field(default_factory=list)
    fast: dict[str, str] = field(default_factory=dict)

    def add(self, cond: sql.Composable | str, error: sql.Composable, *,
            fmt: bool = False) -> None:
        """`fmt`: the condition is false for every value matching the column's fast pattern."""
        self.whens.append((sql.SQL(cond) if isinstance(cond, str) else cond, error, fmt))

    def pattern(self, col: str, regex: str, *, required: bool) -> None:
        self.fast[col] = regex if required else f"(?:{regex})?"

    def required(self, col: str) -> None:
        self.pattern(col, FAST_TEXT_CHAR + f"{{1,{FIELD_MAX}}}", required=True)  # not empty
        self.add(sql.SQL("{} IS NULL").format(_r(col)),
                 err("MISSING_FIELD", col, msg(f"{col} is required")), fmt=True)

    def text(self, col: str) -> None:
        """An optional free-text column (no check of its own)."""
        self.pattern(col, FAST_TEXT, required=True)

    def identifier(self, col: str, *, required: bool = True) -> None:
        if required:
            self.required(col)
        self.pattern(col, FAST_ID, required=required)
        self.add(sql.SQL("{c} !~ {re} OR length({c}) > {n}").format(
                     c=_r(col), re=L(IDENTIFIER_RE), n=L(IDENTIFIER_MAX)),
                 err("BAD_VALUE", col, msg(f"{col} must be 1-64 of A-Z a-z 0-9 _ -: ", col)),
                 fmt=True)

    def amount(self, col: str, *, required: bool = True, positive: bool = False) -> None:
        if required:
            self.required(col)
        self.pattern(col, FAST_AMOUNT, required=required)
        self.add(sql.SQL("NOT {}").format(amount_ok(col)),
                 err("BAD_AMOUNT", col,
                     msg(f"{col} is not a plain decimal with at most 2 decimals: ", col)),
                 fmt=True)
        if positive:  # 0.00 matches the fast pattern: compared in SQL
            self.add(sql.SQL("{}::numeric <= 0").format(_r(col)),
                     err("BAD_AMOUNT", col, msg(f"{col} must be greater than 0: ", col)))
        else:
            self.add(sql.SQL("{}::numeric < 0").format(_r(col)),
                     err("BAD_AMOUNT", col, msg(f"{col} must not be negative: ", col)),
                     fmt=True)

    def rate(self, col: str, *, required: bool = True) -> None:
        if required:
            self.required(col)
        self.pattern(col, FAST_RATE, required=required)
        self.add(sql.SQL("NOT {}").format(rate_ok(col)),
                 err("BAD_RATE", col,
                     msg(f"{col} must be a fraction below 1 with at most 8 decimals: ", col)),
                 fmt=True)

    def date(self, col: str, *, required: bool = True, future: bool = True) -> None:
        if required:
            self.required(col)
        self.pattern(col, FAST_DATE, required=required)
        d = sql.SQL("{}.d").format(Id(f"d_{col}"))
        # 2026-02-30 matches the fast pattern: the calendar check is always evaluated
        self.add(sql.SQL("{} IS NOT NULL AND {} IS NULL").format(_r(col), d),
                 err("BAD_DATE", col, msg(f"{col} is not a date (YYYY-MM-DD or YYYYMMDD): ", col)))
        if future:
            self.add(sql.SQL("{} > %(bdate)s").format(d),
                     err("FUTURE_DATE", col, msg(f"{col} is after the business date: ", col)))

    def choice(self, col: str, values: tuple[str, ...]) -> None:
        self.required(col)
        self.pattern(col, "|".join(map(re.escape, values)), required=True)
        self.add(sql.SQL("{} <> ALL({})").format(_r(col), L(list(values))),
                 err("BAD_VALUE", col, msg(f"{col} must be one of {', '.join(values)}: ", col)),
                 fmt=True)

    def case(self) -> sql.Composable:
        """The first failing check: all of them for a row off the fast path, only the non-format
        ones for a row the fast path proved well-formed (`ok`)."""
        def whens(items):
            return sql.SQL(" ").join(sql.SQL("WHEN ({}) THEN {}").format(c, e)
                                     for c, e, _ in items)
        full = sql.SQL("CASE {} END").format(whens(self.whens))
        rest = [w for w in self.whens if not w[2]]
        fast = sql.SQL("CASE {} END").format(whens(rest)) if rest else sql.SQL("NULL::text")
        return sql.SQL("CASE WHEN r.ok THEN {} ELSE {} END").format(fast, full)

    def first_failing(self) -> sql.Composable:
        """The first failing check of every check (no fast path): NULL when none fails."""
        if not self.whens:
            return sql.SQL("NULL::text")
        return sql.SQL("CASE {} END").format(sql.SQL(" ").join(
            sql.SQL("WHEN ({}) THEN {}").format(c, e) for c, e, _ in self.whens))

    def line_regex(self, header: list[str], eol: str = "\n") -> re.Pattern | None:
        """One regex for a whole line in the header's column order, ending with `eol`; None
        when a column has no fast pattern."""
        if any(c not in self.fast for c in header):
            return None
        return re.compile(",".join(f"(?:{self.fast[c]})" for c in header) + re.escape(eol))


def after_settled_rule(col: str, day: sql.Composable, text: sql.Composable
                       ) -> tuple[sql.Composable, sql.Composable]:
    """FILE_FORMATS 1.1: a payment or reversal dated on or before the partner's last settled
    business date (%(settled)s, NULL before the first run) would rewrite a settled day.
    `day`: the row's date, `text`: its text for the message. (condition, error) — checked at
    intake against the days settled then, and again by the run (lending.settlement.references)
    against the days settled before it, which may be more."""
    return (sql.SQL("{} <= %(settled)s::date").format(day),
            err("BAD_DATE", col,
                sql.SQL("{} || {} || ' is on or before the last settled business date ' || "
                        "%(settled)s::date").format(L(f"{col} "), text)))


def _after_settled(c: Checks, col: str) -> None:
    c.add(*after_settled_rule(col, sql.SQL("{}.d").format(Id(f"d_{col}")), _r(col)))


def _date_joins(cols: tuple[str, ...]) -> sql.Composable:
    return sql.SQL(" ").join(
        sql.SQL("LEFT JOIN intake_dates {a} ON {a}.s = {c}").format(a=Id(f"d_{c}"), c=_r(c))
        for c in cols
    )


DATE_COLUMNS = {
    "loans": ("disbursed_on", "first_due_on"),
    "repayments": ("paid_on",),
    "reversals": ("reversed_on",),
    "balances": ("as_of",),
}

LOAN_METHODS = ("EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL", "INTEREST_FIRST", "DAILY")
LOAN_STATES = tuple(str(s) for s in LoanStatus)  # lending.domain.loan_day

STAGE_TABLE = {
    "loans": "lending_stagedloan",
    "repayments": "lending_stagedrepayment",
    "reversals": "lending_stagedreversal",
    "balances": "lending_stagedbalance",
}
# The business key whose repeat makes a row a DUPLICATE.
KEY_COLUMN = {"loans": "loan_no", "repayments": "txn_no", "reversals": "txn_no",
              "balances": "loan_no"}
# Keys received in an earlier file (index probes into the staging table, see seen_sql);
# one accepted balances file per partner and date: its repeats can only be within the file.
SEEN = {"loans": ("lending_stagedloan", "loan_no"),
        "repayments": ("lending_stagedrepayment", "txn_no"),
        "reversals": ("lending_stagedreversal", "txn_no")}
# The other kind of transaction with the same txn_no (a repayment's txn_no may not be a
# reversal's, and the reverse).
XSEEN = {"repayments": ("lending_stagedreversal", "txn_no"),
         "reversals": ("lending_stagedrepayment", "txn_no")}


@dataclass(frozen=True)
class Found:
    """Which helper tables hold rows: an empty one is neither joined nor checked (its check
    could not fail)."""

    dup: bool = True  # intake_dup: keys repeated within the file
    dup2: bool = True  # intake_dup2: reversals, reverses_txn_no repeated within the file
    seen: bool = True  # intake_seen: keys of earlier files (SEEN)
    xseen: bool = True  # intake_xseen: txn_no of the other kind (XSEEN)


def dates_sql(kind: str) -> sql.Composable:
    """The distinct date texts of the file, each parsed once."""
    union = sql.SQL(" UNION ").join(
        sql.SQL("SELECT {c} AS s FROM intake_raw WHERE {c} IS NOT NULL").format(c=Id(c))
        for c in DATE_COLUMNS[kind]
    )
    return sql.SQL(
        "CREATE TEMP TABLE intake_dates ON COMMIT DROP AS "
        "SELECT s, lending_intake_date(s) AS d FROM (SELECT DISTINCT s FROM ({}) u) x"
    ).format(union)


def totals_sql(kind: str) -> sql.Composable:
    """One scan: the control total (main amounts that parse; a fast-path row's always does)
    and the key range of the file (see seen_possible_sql)."""
    main = KINDS[kind].main_amount
    key = Id(KEY_COLUMN[kind])
    return sql.SQL(
        "SELECT coalesce(sum({m}::numeric) FILTER (WHERE r.ok OR {ok}), "
        "0), min({k}), max({k}) FROM intake_raw r"
    ).format(m=Id(main), ok=amount_ok(main), k=key)


def dups_sql(kind: str, column: str | None = None, table: str = "intake_dup") -> sql.Composable:
    """Keys repeated within the file, with their first row (a hash aggregate, one pass)."""
    return sql.SQL(
        "CREATE TEMP TABLE {t} ON COMMIT DROP AS SELECT {k} AS k, min(row_no) AS first_row "
        "FROM intake_raw WHERE {k} IS NOT NULL GROUP BY {k} "
        "HAVING count(*) > 1"
    ).format(t=Id(table), k=Id(column or KEY_COLUMN[kind]))


def seen_possible_sql(table: str, key: str) -> sql.Composable:
    """Whether any key of the partner in `table` lies within the file's key range [lo, hi]:
    one index probe. When none does, no key of the file can have been received before and
    the per-row probes are skipped (partners' transaction numbers usually grow with time)."""
    return sql.SQL(
        "SELECT EXISTS (SELECT 1 FROM {t} WHERE partner_id = %(partner)s "
        "AND {k} BETWEEN %(lo)s AND %(hi)s)"
    ).format(t=Id(table), k=Id(key))


def seen_sql(table: str, key: str, into: str = "intake_seen") -> sql.Composable:
    """Rows whose key is already staged for the partner in `table`: one index probe per row
    (a LATERAL subquery, so the file is always the outer side), which costs the same however
    long the partner's history is."""
    return sql.SQL(
        "CREATE TEMP TABLE {into} ON COMMIT DROP AS "
        "SELECT r.row_no, s.file_id, s.row_no AS seen_row FROM intake_raw r "
        "CROSS JOIN LATERAL (SELECT s.file_id, s.row_no FROM {t} s "
        "WHERE s.partner_id = %(partner)s AND s.{k} = r.{k} LIMIT 1) s "
        "WHERE r.{k} IS NOT NULL"
    ).format(into=Id(into), t=Id(table), k=Id(key))


def _duplicates(c: Checks, key: str, found: Found, *, across: bool = True) -> None:
    """Later repeats of a key within the file; keys already received in another file."""
    if found.dup:
        c.add("dd.first_row < r.row_no",
              err("DUPLICATE", key, sql.SQL("{} || r.{} || ' repeats row ' || dd.first_row "
                                            "|| ' of this file'").format(L(f"{key} "), Id(key))))
    if across and found.seen:
        c.add("s.row_no IS NOT NULL",
              err("DUPLICATE", key,
                  sql.SQL("{} || r.{} || ' was already received (file ' || s.file_id || "
                          "' row ' || s.seen_row || ')'").format(L(f"{key} "), Id(key))))


def _dup_joins(kind: str, found: Found, *, across: bool = True) -> str:
    key = KEY_COLUMN[kind]
    joins = f"LEFT JOIN intake_dup dd ON dd.k = r.{key}\n" if found.dup else ""
    if across and found.seen:
        joins += "LEFT JOIN intake_seen s ON s.row_no = r.row_no\n"
    return joins


def _xseen(c: Checks, found: Found, other: str) -> str:
    if not found.xseen:
        return ""
    c.add("xs.row_no IS NOT NULL",
          err("DUPLICATE", "txn_no",
              sql.SQL("{} || xs.file_id || ' row ' || xs.seen_row || ')'").format(
                  sql.SQL("'txn_no ' || r.txn_no || {}").format(
                      L(f" is already a {other} (file ")))))
    return "LEFT JOIN intake_xseen xs ON xs.row_no = r.row_no\n"


@dataclass(frozen=True)
class KindSQL:
    checks: Checks
    joins: sql.Composable  # besides the date joins
    select: sql.Composable  # the typed staging columns (STAGE_COLUMNS order) of a good row


def kind_sql(kind: str, found: Found = Found()) -> KindSQL:
    return {"loans": _loans, "repayments": _repayments, "reversals": _reversals,
            "balances": _balances}[kind](found)


def line_regex(kind: str, header: list[str], eol: str = "\n") -> re.Pattern | None:
    """The fast-path regex of a file (None: every row takes the full checks)."""
    if kind in MATERIALISED:
        return None
    return kind_sql(kind).checks.line_regex(header, eol)


def _repayments(found: Found) -> KindSQL:
    c = Checks()
    c.identifier("txn_no")
    c.identifier("loan_no")
    c.date("paid_on")
    _after_settled(c, "paid_on")
    c.amount("amount", positive=True)
    c.choice("payer", ("BORROWER", "GUARANTOR"))
    c.choice("kind", ("SCHEDULED", "PREPAYMENT", "PAYOFF"))
    for col in ("reported_principal", "reported_interest", "reported_penalty", "reported_fee"):
        c.amount(col, required=False)
    # The loan (UNKNOWN_LOAN, LOAN_CLOSED, paid_on before its disbursement) is checked by the
    # run (lending.settlement.references): it may be in a file not received yet.
    _duplicates(c, "txn_no", found)
    joins = _dup_joins("repayments", found) + _xseen(c, found, "reversal")
    select = sql.SQL(
        "r.txn_no, r.loan_no, d_paid_on.d, r.amount::numeric, r.payer, r.kind, "
        "r.reported_principal::numeric, r.reported_interest::numeric, "
        "r.reported_penalty::numeric, r.reported_fee::numeric")
    return KindSQL(c, sql.SQL(joins), select)


def _reversals(found: Found) -> KindSQL:
    c = Checks()
    c.identifier("txn_no")
    c.identifier("reverses_txn_no")
    c.date("reversed_on")
    _after_settled(c, "reversed_on")
    c.amount("amount", positive=True)
    c.text("reason")
    _duplicates(c, "txn_no", found)
    xjoin = _xseen(c, found, "repayment")
    # The reversed repayment (NOT_REVERSIBLE: none, another amount, reversed before it was
    # paid; BAD_DATE: before its loan's disbursement) is checked by the run
    # (lending.settlement.references): it may be in a file not received yet. A repayment
    # reversed twice stays here: within the file, and across files (one reversal per
    # repayment is a unique constraint of the staging table).
    if found.dup2:
        c.add("dr.first_row < r.row_no",
              err("NOT_REVERSIBLE", "reverses_txn_no",
                  sql.SQL("'repayment ' || r.reverses_txn_no || ' is already reversed by row ' "
                          "|| dr.first_row || ' of this file'")))
    c.add("o.id IS NOT NULL",
          err("NOT_REVERSIBLE", "reverses_txn_no",
              sql.SQL("'repayment ' || r.reverses_txn_no || ' is already reversed (file ' || "
                      "o.file_id || ' row ' || o.row_no || ')'")))
    joins = _dup_joins("reversals", found) + xjoin + (
        "LEFT JOIN intake_dup2 dr ON dr.k = r.reverses_txn_no\n" if found.dup2 else "") + """
LEFT JOIN lending_stagedreversal o ON o.partner_id = %(partner)s
     AND o.reverses_txn_no = r.reverses_txn_no
"""
    select = sql.SQL("r.txn_no, r.reverses_txn_no, d_reversed_on.d, r.amount::numeric, "
                     "coalesce(r.reason, '')")
    return KindSQL(c, sql.SQL(joins), select)


def _balances(found: Found) -> KindSQL:
    c = Checks()
    c.identifier("loan_no")
    c.date("as_of")
    c.add("d_as_of.d <> %(bdate)s",
          err("BAD_DATE", "as_of", msg("as_of must be the business date: ", "as_of")))
    for col in ("principal_outstanding", "interest_outstanding", "penalty_outstanding"):
        c.amount(col)
    c.required("dpd")
    c.pattern("dpd", "[0-9]{1,6}", required=True)
    c.add("r.dpd !~ '^[0-9]+$' OR length(r.dpd) > 6",
          err("BAD_VALUE", "dpd", msg("dpd must be a whole number of days: ", "dpd")), fmt=True)
    c.choice("status", LOAN_STATES)
    # A row of a loan the bank does not have is not quarantined: the run's reconciliation
    # records it as a MISSING_AT_BANK break (the loan may be in a loans file not received
    # yet, or be one the run does not book; either way the reconciliation sees it after the
    # day's booking, lending.reconciliation.services).
    _duplicates(c, "loan_no", found, across=False)
    joins = _dup_joins("balances", found, across=False)
    select = sql.SQL(
        "r.loan_no, d_as_of.d, r.principal_outstanding::numeric, "
        "r.interest_outstanding::numeric, r.penalty_outstanding::numeric, r.dpd::integer, "
        "r.status")
    return KindSQL(c, sql.SQL(joins), select)


def _num(col: str, rate: bool = False) -> sql.Composable:
    ok = rate_ok(col) if rate else amount_ok(col)
    return sql.SQL("CASE WHEN {ok} THEN {c}::numeric END").format(c=_r(col), ok=ok)


def _loans(found: Found) -> KindSQL:
    c = Checks()
    c.identifier("loan_no")
    c.required("program_code")
    c.required("borrower_ref")
    c.amount("principal", positive=True)
    c.rate("annual_rate")
    c.required("term_months")
    c.add("r.term_months !~ '^[0-9]+$' OR length(r.term_months) > 4 "
          "OR r.term_months::integer > 36",
          err("BAD_VALUE", "term_months",
              msg("term_months must be a whole number from 0 to 36: ", "term_months")))
    c.choice("repayment_method", LOAN_METHODS)
    c.add("(r.repayment_method = 'DAILY') <> (r.term_months::integer = 0)",
          err("BAD_VALUE", "term_months",
              msg("term_months is 0 exactly for DAILY loans: ", "term_months")))
    c.date("disbursed_on")
    c.add("d_disbursed_on.d <> %(bdate)s",
          err("BAD_DATE", "disbursed_on",
              msg("disbursed_on must be the business date: ", "disbursed_on")))
    c.date("first_due_on", required=False, future=False)
    c.add("d_first_due_on.d <= d_disbursed_on.d",
          err("BAD_DATE", "first_due_on",
              msg("first_due_on must be after disbursed_on: ", "first_due_on")))
    c.required("bank_approval_ref")
    c.add("length(r.bank_approval_ref) > 64",
          err("BAD_VALUE", "bank_approval_ref", msg("bank_approval_ref is longer than 64")))
    c.rate("bank_ratio", required=False)
    c.add("p.id IS NULL",
          err("UNKNOWN_PROGRAM", "program_code",
              msg("no program of this partner with code ", "program_code")))
    c.add("NOT p.active",
          err("UNKNOWN_PROGRAM", "program_code", msg("program is not active: ", "program_code")))
    c.add("l.id IS NOT NULL",
          err("DUPLICATE", "loan_no", msg("loan already booked: ", "loan_no")))
    _duplicates(c, "loan_no", found)
    c.add("v.version_id IS NULL",
          err("UNKNOWN_PROGRAM", "program_code",
              sql.SQL("'no agreement version of program ' || r.program_code || "
                      "' in force on ' || d_disbursed_on.d")))
    c.add("r.principal::numeric > p.max_principal",
          err("LIMIT_EXCEEDED", "principal",
              sql.SQL("'principal ' || r.principal || ' above the program maximum ' "
                      "|| p.max_principal")))
    c.add("r.term_months::integer > p.max_term_months",
          err("LIMIT_EXCEEDED", "term_months",
              sql.SQL("'term_months ' || r.term_months || ' above the program maximum ' "
                      "|| p.max_term_months")))
    c.add("r.repayment_method <> ALL(p.repayment_methods)",
          err("LIMIT_EXCEEDED", "repayment_method",
              sql.SQL("'repayment_method ' || r.repayment_method || ' not allowed by program "
                      "' || r.program_code")))
    c.add("r.annual_rate::numeric NOT BETWEEN p.min_annual_rate AND p.max_annual_rate",
          err("LIMIT_EXCEEDED", "annual_rate",
              sql.SQL("'annual_rate ' || r.annual_rate || ' outside the program bounds ' || "
                      "p.min_annual_rate || '..' || p.max_annual_rate")))
    c.add(sql.SQL("d_disbursed_on.d >= {} AND v.bank_ratio > {}").format(
              L(rules.RATIO_RULE_FROM), L(rules.MAX_BANK_RATIO)),
          err(rules.RATIO_RULE_REASON, rules.RATIO_RULE_COLUMN, msg(rules.ratio_rule_message())))
    c.add("r.bank_ratio IS NOT NULL AND r.bank_ratio::numeric <> v.bank_ratio",
          err("RATIO_MISMATCH", "bank_ratio",
              sql.SQL("'bank_ratio ' || r.bank_ratio || ' differs from the agreement''s ' || "
                      "v.bank_ratio")))
    select = sql.SQL(
        "r.loan_no, p.id AS program_id, v.version_id AS agreement_version_id, "
        "r.borrower_ref AS borrower_token, {pr} AS principal, {ar} AS annual_rate, "
        "CASE WHEN r.term_months ~ '^[0-9]+$' AND length(r.term_months) <= 4 "
        "THEN r.term_months::integer END "
        "AS term_months, r.repayment_method, d_disbursed_on.d AS disbursed_on, "
        "d_first_due_on.d AS first_due_on, r.bank_approval_ref, v.bank_ratio, "
        "{br} AS reported_bank_ratio"
    ).format(pr=_num("principal"), ar=_num("annual_rate", rate=True),
             br=_num("bank_ratio", rate=True))
    joins = sql.SQL(_dup_joins("loans", found) + """
LEFT JOIN lending_program p ON p.partner_id = %(partner)s AND p.code = r.program_code
LEFT JOIN lending_loan l ON l.partner_id = %(partner)s AND l.loan_no = r.loan_no
LEFT JOIN LATERAL (
    SELECT av.id AS version_id,
           coalesce((SELECT f.principal_ratio FROM lending_agreementfunder f
                      JOIN partners_partner bp ON bp.id = f.funder_id AND bp.kind = 'BANK'
                     WHERE f.version_id = av.id), 0) AS bank_ratio
      FROM lending_agreementversion av
     WHERE av.agreement_id = p.agreement_id AND av.status IN ('ACTIVE', 'RETIRED')
       AND av.effective_from <= d_disbursed_on.d
       AND (av.effective_to IS NULL OR d_disbursed_on.d < av.effective_to)
     ORDER BY av.effective_from DESC, av.id DESC LIMIT 1
) v ON true
""")
    return KindSQL(c, joins, select)


# --- Check and stage --------------------------------------------------------------------
#
# Loans keep one materialised pass (`intake_checked`: typed columns + error of every row), as
# their staged columns come from the program and agreement-version joins. The other kinds
# write only the failing rows (`intake_err`, with their raw columns for the quarantine) and
# stage the good rows straight from intake_raw: one pass over the joins, none over the
# million good rows' typed copy.

MATERIALISED = frozenset({"loans"})

STAGE_COLUMNS = {
    "loans": ("loan_no", "program_id", "agreement_version_id", "borrower_token", "principal",
              "annual_rate", "term_months", "repayment_method", "disbursed_on", "first_due_on",
              "bank_approval_ref", "bank_ratio", "reported_bank_ratio"),
    "repayments": ("txn_no", "loan_no", "paid_on", "amount", "payer", "kind",
                   "reported_principal", "reported_interest", "reported_penalty",
                   "reported_fee"),
    "reversals": ("txn_no", "reverses_txn_no", "reversed_on", "amount", "reason"),
    "balances": ("loan_no", "as_of", "principal_outstanding", "interest_outstanding",
                 "penalty_outstanding", "dpd", "loan_status"),
}


def check_sql(kind: str, header: list[str], found: Found = Found()) -> sql.Composable:
    """The check pass: intake_checked (loans) or intake_err (the failing rows)."""
    k = kind_sql(kind, found)
    dates = _date_joins(DATE_COLUMNS[kind])
    if kind in MATERIALISED:
        return sql.SQL(
            "CREATE TEMP TABLE intake_checked ON COMMIT DROP AS "
            "SELECT r.row_no, {select}, {case} AS err FROM intake_raw r {dates} {joins}"
        ).format(select=k.select, case=k.checks.case(), dates=dates, joins=k.joins)
    cols = sql.SQL(", ").join(_r(c) for c in header)
    return sql.SQL(
        "CREATE TEMP TABLE intake_err ON COMMIT DROP AS SELECT * FROM ("
        "SELECT r.row_no, {cols}, {case} AS err FROM intake_raw r {dates} {joins}"
        ") c WHERE err IS NOT NULL"
    ).format(cols=cols, case=k.checks.case(), dates=dates, joins=k.joins)


def stage_sql(kind: str, failing: bool = True) -> sql.Composable:
    """The good rows into the kind's staging table, in row order. `failing`: whether the check
    pass wrote any failing row; when it wrote none (a clean file, the usual case) there is no
    anti-join to make: with an empty intake_err the planner probes it once per row in a nested
    loop (1.1 s for a 1,083,387-row balances file)."""
    cols = sql.SQL(", ").join(map(Id, STAGE_COLUMNS[kind]))
    head = sql.SQL(
        "INSERT INTO {t} (file_id, row_no, partner_id, business_date, status, {cols}) "
    ).format(t=Id(STAGE_TABLE[kind]), cols=cols)
    if kind in MATERIALISED:
        return head + sql.SQL(
            "SELECT %(file)s, row_no, %(partner)s, %(bdate)s, 'STAGED', {cols} "
            "FROM intake_checked WHERE err IS NULL").format(cols=cols)
    return head + sql.SQL(
        "SELECT %(file)s, r.row_no, %(partner)s, %(bdate)s, 'STAGED', {select} "
        "FROM intake_raw r {dates} {where}"
    ).format(select=kind_sql(kind).select, dates=_date_joins(DATE_COLUMNS[kind]),
             where=sql.SQL("WHERE NOT EXISTS (SELECT FROM intake_err e WHERE e.row_no = r.row_no)"
                           if failing else ""))


def csv_field(value: sql.Composable) -> sql.Composable:
    """A text value as one CSV field (minimal quoting; NULL is empty)."""
    return sql.SQL(
        "CASE WHEN {v} ~ '[\",\\r\\n]' THEN '\"' || replace({v}, '\"', '\"\"') || '\"' "
        "ELSE coalesce({v}, '') END"
    ).format(v=value)


def raw_csv(values) -> sql.Composable:
    """The raw text of a quarantined row: its text values as one CSV line."""
    fields = [csv_field(v) for v in values]
    return sql.SQL(" || ',' || ").join(fields) if fields else L("")


def quarantine_sql(kind: str, header: list[str]) -> sql.Composable:
    """Quarantine the failing rows with their raw text, rebuilt as CSV in the file's order."""
    main = KINDS[kind].main_amount
    raw = raw_csv(_r(c) for c in header)
    if kind in MATERIALISED:
        e, amount = "c", sql.SQL("c.{}").format(Id(main))
        source = sql.SQL("intake_checked c JOIN intake_raw r ON r.row_no = c.row_no "
                         "WHERE c.err IS NOT NULL")
    else:  # intake_err holds the raw columns of its rows
        e, amount, source = "r", _num(main), sql.SQL("intake_err r")
    return sql.SQL(
        "INSERT INTO partners_quarantinedrow (file_id, partner_id, business_date, row_no, "
        "\"column\", reason, message, raw, amount, stage, created_at, resolved, "
        "resolution_note) "
        "SELECT %(file)s, %(partner)s, %(bdate)s, {e}.row_no, split_part({e}.err, {us}, 2), "
        "split_part({e}.err, {us}, 1), substr({e}.err, length(split_part({e}.err, {us}, 1)) + "
        "length(split_part({e}.err, {us}, 2)) + 3), {raw}, {amount}, "
        "'INTAKE', now(), false, '' "
        "FROM {source} ORDER BY {e}.row_no"
    ).format(e=sql.Identifier(e), us=L(US), raw=raw, amount=amount, source=source)
