"""The check DSL: `Checks` (one CASE of WHENs, the first true one names the row's error),
the fast-path patterns, and the SQL pieces the checks are made of.

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

from partners.files.contract import (
    AMOUNT_MAX_INT_DIGITS,
    AMOUNT_RE,
    FIELD_MAX,
    IDENTIFIER_MAX,
    IDENTIFIER_RE,
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


def raw_column(col: str) -> sql.Composable:
    return sql.SQL("r.{}").format(Id(col))


def amount_ok(col: str, alias: str = "r") -> sql.Composable:
    """The value parses as a contract amount (and fits numeric(18,2): at most 16 integer
    digits; a longer one overflowed the staging insert)."""
    c = sql.SQL("{}.{}").format(Id(alias), Id(col))
    return sql.SQL("({c} ~ {re} AND length(ltrim(split_part({c}, '.', 1), '-')) <= {n})").format(
        c=c, re=L(AMOUNT_RE), n=L(AMOUNT_MAX_INT_DIGITS))


def rate_ok(col: str) -> sql.Composable:
    c = raw_column(col)
    return sql.SQL("({c} ~ {re} AND length(split_part({c}, '.', 2)) <= {n} AND {c}::numeric < 1)"
                   ).format(c=c, re=L(RATE_RE), n=L(RATE_MAX_DECIMALS))


def err(code: str, col: str, message: sql.Composable) -> sql.Composable:
    return sql.SQL("{} || {}").format(L(f"{code}{US}{col}{US}"), message)


def msg(text: str, col: str | None = None) -> sql.Composable:
    """A message literal, followed by the quoted raw value of `col` when given."""
    if col is None:
        return L(text)
    return sql.SQL("{} || quote_literal({})").format(L(text), raw_column(col))


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
        self.add(sql.SQL("{} IS NULL").format(raw_column(col)),
                 err("MISSING_FIELD", col, msg(f"{col} is required")), fmt=True)

    def text(self, col: str) -> None:
        """An optional free-text column (no check of its own)."""
        self.pattern(col, FAST_TEXT, required=True)

    def identifier(self, col: str, *, required: bool = True) -> None:
        if required:
            self.required(col)
        self.pattern(col, FAST_ID, required=required)
        self.add(sql.SQL("{c} !~ {re} OR length({c}) > {n}").format(
                     c=raw_column(col), re=L(IDENTIFIER_RE), n=L(IDENTIFIER_MAX)),
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
            self.add(sql.SQL("{}::numeric <= 0").format(raw_column(col)),
                     err("BAD_AMOUNT", col, msg(f"{col} must be greater than 0: ", col)))
        else:
            self.add(sql.SQL("{}::numeric < 0").format(raw_column(col)),
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
        self.add(sql.SQL("{} IS NOT NULL AND {} IS NULL").format(raw_column(col), d),
                 err("BAD_DATE", col, msg(f"{col} is not a date (YYYY-MM-DD or YYYYMMDD): ", col)))
        if future:
            self.add(sql.SQL("{} > %(bdate)s").format(d),
                     err("FUTURE_DATE", col, msg(f"{col} is after the business date: ", col)))

    def choice(self, col: str, values: tuple[str, ...]) -> None:
        self.required(col)
        self.pattern(col, "|".join(map(re.escape, values)), required=True)
        self.add(sql.SQL("{} <> ALL({})").format(raw_column(col), L(list(values))),
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


def after_settled(c: Checks, col: str) -> None:
    c.add(*after_settled_rule(col, sql.SQL("{}.d").format(Id(f"d_{col}")), raw_column(col)))


def date_joins(cols: tuple[str, ...]) -> sql.Composable:
    return sql.SQL(" ").join(
        sql.SQL("LEFT JOIN intake_dates {a} ON {a}.s = {c}").format(a=Id(f"d_{c}"), c=raw_column(c))
        for c in cols
    )


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
