"""Set-based row checks of a partner file, one SQL statement per step.

The raw rows sit in the temporary table `intake_raw` (every column text, NULL when empty). For
each kind, `checked_sql` builds `intake_checked`: the typed values and, per row, the FIRST
failing check as one text `CODE<US>column<US>message` (NULL when the row is good). CASE stops at
the first true WHEN, so a good row costs one pass over the conditions and no string building.
Columns, regexes and codes are constants of the contract, composed with `psycopg.sql`; values
(partner, business date, file) are always parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from psycopg import sql

from partners.files.contract import (
    AMOUNT_MAX_LEN,
    AMOUNT_RE,
    IDENTIFIER_MAX,
    IDENTIFIER_RE,
    KINDS,
    RATE_MAX_DECIMALS,
    RATE_RE,
)

US = "\x1f"  # separates code, column and message inside the error text

L = sql.Literal
Id = sql.Identifier


def _r(col: str) -> sql.Composable:
    return sql.SQL("r.{}").format(Id(col))


def amount_ok(col: str, alias: str = "r") -> sql.Composable:
    """The value parses as a contract amount (and fits numeric(18,2))."""
    c = sql.SQL("{}.{}").format(Id(alias), Id(col))
    return sql.SQL("({c} ~ {re} AND length({c}) <= {n})").format(
        c=c, re=L(AMOUNT_RE), n=L(AMOUNT_MAX_LEN))


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
    whens: list[tuple[sql.Composable, sql.Composable]] = field(default_factory=list)

    def add(self, cond: sql.Composable | str, error: sql.Composable) -> None:
        self.whens.append((sql.SQL(cond) if isinstance(cond, str) else cond, error))

    def required(self, col: str) -> None:
        self.add(sql.SQL("{} IS NULL").format(_r(col)),
                 err("MISSING_FIELD", col, msg(f"{col} is required")))

    def identifier(self, col: str, *, required: bool = True) -> None:
        if required:
            self.required(col)
        self.add(sql.SQL("{c} !~ {re} OR length({c}) > {n}").format(
                     c=_r(col), re=L(IDENTIFIER_RE), n=L(IDENTIFIER_MAX)),
                 err("BAD_VALUE", col, msg(f"{col} must be 1-64 of A-Z a-z 0-9 _ -: ", col)))

    def amount(self, col: str, *, required: bool = True, positive: bool = False) -> None:
        if required:
            self.required(col)
        self.add(sql.SQL("NOT {}").format(amount_ok(col)),
                 err("BAD_AMOUNT", col,
                     msg(f"{col} is not a plain decimal with at most 2 decimals: ", col)))
        if positive:
            self.add(sql.SQL("{}::numeric <= 0").format(_r(col)),
                     err("BAD_AMOUNT", col, msg(f"{col} must be greater than 0: ", col)))
        else:
            self.add(sql.SQL("{}::numeric < 0").format(_r(col)),
                     err("BAD_AMOUNT", col, msg(f"{col} must not be negative: ", col)))

    def rate(self, col: str, *, required: bool = True) -> None:
        if required:
            self.required(col)
        self.add(sql.SQL("NOT {}").format(rate_ok(col)),
                 err("BAD_RATE", col,
                     msg(f"{col} must be a fraction below 1 with at most 8 decimals: ", col)))

    def date(self, col: str, *, required: bool = True, future: bool = True) -> None:
        if required:
            self.required(col)
        d = sql.SQL("{}.d").format(Id(f"d_{col}"))
        self.add(sql.SQL("{} IS NOT NULL AND {} IS NULL").format(_r(col), d),
                 err("BAD_DATE", col, msg(f"{col} is not a date (YYYY-MM-DD or YYYYMMDD): ", col)))
        if future:
            self.add(sql.SQL("{} > %(bdate)s").format(d),
                     err("FUTURE_DATE", col, msg(f"{col} is after the business date: ", col)))

    def choice(self, col: str, values: tuple[str, ...]) -> None:
        self.required(col)
        self.add(sql.SQL("{} <> ALL({})").format(_r(col), L(list(values))),
                 err("BAD_VALUE", col, msg(f"{col} must be one of {', '.join(values)}: ", col)))

    def case(self) -> sql.Composable:
        parts = [sql.SQL("WHEN ({}) THEN {}").format(c, e) for c, e in self.whens]
        return sql.SQL("CASE WHEN r.shape IS NOT NULL THEN r.shape {} END").format(
            sql.SQL(" ").join(parts)
        )


def _num(col: str, rate: bool = False) -> sql.Composable:
    ok = rate_ok(col) if rate else amount_ok(col)
    return sql.SQL("CASE WHEN {ok} THEN {c}::numeric END").format(c=_r(col), ok=ok)


def _date(col: str) -> sql.Composable:
    return sql.SQL("{}.d").format(Id(f"d_{col}"))


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
LOAN_STATES = ("ACTIVE", "OVERDUE", "CLAIMED", "WRITTEN_OFF", "PAID_OFF")
# A written-off loan still takes money: a recovery after 核销 (DOMAIN §7.10), applied by the run.
CLOSED_STATES = ("PAID_OFF",)

# A loan is known when booked, or staged (accepted, not quarantined at apply) for the same
# partner on the same or an earlier business date: the run of that date books it.
_KNOWN_LOAN_JOINS = """
LEFT JOIN lending_loan l ON l.partner_id = %(partner)s AND l.loan_no = r.loan_no
LEFT JOIN lending_stagedloan sl ON sl.partner_id = %(partner)s AND sl.loan_no = r.loan_no
     AND sl.business_date <= %(bdate)s AND sl.status <> 'QUARANTINED'
"""


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


def dups_sql(kind: str, column: str | None = None, table: str = "intake_dup") -> sql.Composable:
    """Keys repeated within the file, with their first row (a hash aggregate, one pass)."""
    return sql.SQL(
        "CREATE TEMP TABLE {t} ON COMMIT DROP AS SELECT {k} AS k, min(row_no) AS first_row "
        "FROM intake_raw WHERE {k} IS NOT NULL AND shape IS NULL GROUP BY {k} "
        "HAVING count(*) > 1"
    ).format(t=Id(table), k=Id(column or KEY_COLUMN[kind]))


def _duplicates(c: Checks, key: str, *, across: bool = True) -> None:
    """Later repeats of a key within the file; keys already received in another file."""
    c.add("dd.first_row < r.row_no",
          err("DUPLICATE", key, sql.SQL("{} || r.{} || ' repeats row ' || dd.first_row "
                                        "|| ' of this file'").format(L(f"{key} "), Id(key))))
    if across:
        c.add("s.row_no IS NOT NULL",
              err("DUPLICATE", key,
                  sql.SQL("{} || r.{} || ' was already received (file ' || s.file_id || "
                          "' row ' || s.seen_row || ')'").format(L(f"{key} "), Id(key))))


def _dup_joins(kind: str, *, across: bool = True) -> str:
    key = KEY_COLUMN[kind]
    joins = f"LEFT JOIN intake_dup dd ON dd.k = r.{key}\n"
    if across:
        joins += "LEFT JOIN intake_seen s ON s.row_no = r.row_no\n"
    return joins


def seen_sql(kind: str) -> sql.Composable:
    """Rows whose key was already received in an earlier file of the partner. Run with hash
    and merge joins off: one index probe per row costs the same however long the partner's
    history is, where a hash join would read all of it."""
    key = Id(KEY_COLUMN[kind])
    return sql.SQL(
        "CREATE TEMP TABLE intake_seen ON COMMIT DROP AS "
        "SELECT r.row_no, s.file_id, s.row_no AS seen_row FROM intake_raw r "
        "JOIN {t} s ON s.partner_id = %(partner)s AND s.{key} = r.{key} "
        "WHERE r.{key} IS NOT NULL"
    ).format(t=Id(STAGE_TABLE[kind]), key=key)


def checked_sql(kind: str) -> sql.Composable:
    """CREATE TEMP TABLE intake_checked: typed columns + first error per row."""
    return {"loans": _loans, "repayments": _repayments, "reversals": _reversals,
            "balances": _balances}[kind]()


def _create(select: sql.Composable, case: sql.Composable, joins: sql.Composable,
            kind: str) -> sql.Composable:
    return sql.SQL(
        "CREATE TEMP TABLE intake_checked ON COMMIT DROP AS "
        "SELECT r.row_no, {select}, {case} AS err "
        "FROM intake_raw r {dates} {joins}"
    ).format(select=select, case=case,
             dates=_date_joins(DATE_COLUMNS[kind]), joins=joins)


def _repayments() -> sql.Composable:
    c = Checks()
    c.identifier("txn_no")
    c.identifier("loan_no")
    c.date("paid_on")
    c.amount("amount", positive=True)
    c.choice("payer", ("BORROWER", "GUARANTOR"))
    c.choice("kind", ("SCHEDULED", "PREPAYMENT", "PAYOFF"))
    for col in ("reported_principal", "reported_interest", "reported_penalty", "reported_fee"):
        c.amount(col, required=False)
    c.add("l.id IS NULL AND sl.id IS NULL",
          err("UNKNOWN_LOAN", "loan_no", msg("no loan of this partner numbered ", "loan_no")))
    c.add(sql.SQL("l.state = ANY({})").format(L(list(CLOSED_STATES))),
          err("LOAN_CLOSED", "loan_no", sql.SQL("'loan ' || r.loan_no || ' is ' || l.state")))
    _duplicates(c, "txn_no")
    c.add("xr.id IS NOT NULL",
          err("DUPLICATE", "txn_no",
              sql.SQL("'txn_no ' || r.txn_no || ' is already a reversal (file ' || xr.file_id "
                      "|| ' row ' || xr.row_no || ')'")))
    select = sql.SQL(
        "r.txn_no, r.loan_no, d_paid_on.d AS paid_on, {a} AS amount, r.payer, r.kind, "
        "{p} AS reported_principal, {i} AS reported_interest, {n} AS reported_penalty, "
        "{f} AS reported_fee"
    ).format(a=_num("amount"), p=_num("reported_principal"), i=_num("reported_interest"),
             n=_num("reported_penalty"), f=_num("reported_fee"))
    joins = sql.SQL(_KNOWN_LOAN_JOINS + _dup_joins("repayments") + """
LEFT JOIN lending_stagedreversal xr ON xr.partner_id = %(partner)s AND xr.txn_no = r.txn_no
""")
    return _create(select, c.case(), joins, "repayments")


def _reversals() -> sql.Composable:
    c = Checks()
    c.identifier("txn_no")
    c.identifier("reverses_txn_no")
    c.date("reversed_on")
    c.amount("amount", positive=True)
    _duplicates(c, "txn_no")
    c.add("xr.id IS NOT NULL",
          err("DUPLICATE", "txn_no",
              sql.SQL("'txn_no ' || r.txn_no || ' is already a repayment (file ' || xr.file_id "
                      "|| ' row ' || xr.row_no || ')'")))
    c.add("rp.id IS NULL",
          err("NOT_REVERSIBLE", "reverses_txn_no",
              msg("no accepted repayment of this partner numbered ", "reverses_txn_no")))
    c.add("rp.amount <> r.amount::numeric",
          err("NOT_REVERSIBLE", "amount",
              sql.SQL("'amount ' || r.amount || ' differs from the repayment''s ' || rp.amount")))
    c.add("dr.first_row < r.row_no",
          err("NOT_REVERSIBLE", "reverses_txn_no",
              sql.SQL("'repayment ' || r.reverses_txn_no || ' is already reversed by row ' || "
                      "dr.first_row || ' of this file'")))
    c.add("o.id IS NOT NULL",
          err("NOT_REVERSIBLE", "reverses_txn_no",
              sql.SQL("'repayment ' || r.reverses_txn_no || ' is already reversed (file ' || "
                      "o.file_id || ' row ' || o.row_no || ')'")))
    c.add("d_reversed_on.d < rp.paid_on",
          err("NOT_REVERSIBLE", "reversed_on",
              sql.SQL("'reversed_on ' || r.reversed_on || ' is before the repayment''s "
                      "paid_on ' || rp.paid_on")))
    select = sql.SQL(
        "r.txn_no, r.reverses_txn_no, d_reversed_on.d AS reversed_on, {a} AS amount, "
        "coalesce(r.reason, '') AS reason"
    ).format(a=_num("amount"))
    joins = sql.SQL(_dup_joins("reversals") + """
LEFT JOIN intake_dup2 dr ON dr.k = r.reverses_txn_no
LEFT JOIN lending_stagedreversal o ON o.partner_id = %(partner)s
     AND o.reverses_txn_no = r.reverses_txn_no
LEFT JOIN lending_stagedrepayment xr ON xr.partner_id = %(partner)s AND xr.txn_no = r.txn_no
LEFT JOIN lending_stagedrepayment rp ON rp.partner_id = %(partner)s
     AND rp.txn_no = r.reverses_txn_no AND rp.business_date <= %(bdate)s
     AND rp.status <> 'QUARANTINED'
""")
    return _create(select, c.case(), joins, "reversals")


def _balances() -> sql.Composable:
    c = Checks()
    c.identifier("loan_no")
    c.date("as_of")
    c.add("d_as_of.d <> %(bdate)s",
          err("BAD_DATE", "as_of", msg("as_of must be the business date: ", "as_of")))
    for col in ("principal_outstanding", "interest_outstanding", "penalty_outstanding"):
        c.amount(col)
    c.required("dpd")
    c.add("r.dpd !~ '^[0-9]+$' OR length(r.dpd) > 6",
          err("BAD_VALUE", "dpd", msg("dpd must be a whole number of days: ", "dpd")))
    c.choice("status", LOAN_STATES)
    c.add("l.id IS NULL AND sl.id IS NULL",
          err("UNKNOWN_LOAN", "loan_no", msg("no loan of this partner numbered ", "loan_no")))
    # one accepted balances file per partner and date: repeats can only be within the file
    _duplicates(c, "loan_no", across=False)
    select = sql.SQL(
        "r.loan_no, d_as_of.d AS as_of, {p} AS principal_outstanding, "
        "{i} AS interest_outstanding, {n} AS penalty_outstanding, "
        "CASE WHEN r.dpd ~ '^[0-9]+$' AND length(r.dpd) <= 6 THEN r.dpd::integer END AS dpd, "
        "r.status AS loan_status"
    ).format(p=_num("principal_outstanding"), i=_num("interest_outstanding"),
             n=_num("penalty_outstanding"))
    joins = sql.SQL(_KNOWN_LOAN_JOINS + _dup_joins("balances", across=False))
    return _create(select, c.case(), joins, "balances")


def _loans() -> sql.Composable:
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
    _duplicates(c, "loan_no")
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
    c.add("d_disbursed_on.d >= DATE '2022-01-01' AND v.bank_ratio > 0.70",
          err("LIMIT_EXCEEDED", "disbursed_on",
              msg("the agreement's bank ratio is above 0.70 (not allowed from 2022-01-01)")))
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
    joins = sql.SQL(_dup_joins("loans") + """
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
    return _create(select, c.case(), joins, "loans")


# --- Staging: good rows into the kind's table; a unique-key conflict is a duplicate --------

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
STAGE_TABLE = {
    "loans": "lending_stagedloan",
    "repayments": "lending_stagedrepayment",
    "reversals": "lending_stagedreversal",
    "balances": "lending_stagedbalance",
}
# The business key whose repeat makes a row a DUPLICATE.
KEY_COLUMN = {"loans": "loan_no", "repayments": "txn_no", "reversals": "txn_no",
              "balances": "loan_no"}


def stage_sql(kind: str) -> sql.Composable:
    cols = STAGE_COLUMNS[kind]
    return sql.SQL(
        "INSERT INTO {t} (file_id, row_no, partner_id, business_date, status, {cols}) "
        "SELECT %(file)s, row_no, %(partner)s, %(bdate)s, 'STAGED', {cols} "
        "FROM intake_checked WHERE err IS NULL"
    ).format(t=Id(STAGE_TABLE[kind]), cols=sql.SQL(", ").join(map(Id, cols)))


def quarantine_sql(kind: str, header: list[str]) -> sql.Composable:
    """Quarantine the failing rows with their raw text, rebuilt as CSV in the file's order."""
    def q(col: str) -> sql.Composable:
        c = Id(col)
        return sql.SQL(
            "CASE WHEN r.{c} ~ '[\",\\r\\n]' THEN '\"' || replace(r.{c}, '\"', '\"\"') || '\"' "
            "ELSE coalesce(r.{c}, '') END"
        ).format(c=c)

    raw = sql.SQL(" || ',' || ").join(q(c) for c in header) if header else L("")
    return sql.SQL(
        "INSERT INTO partners_quarantinedrow (file_id, partner_id, business_date, row_no, "
        "\"column\", reason, message, raw, amount, stage, created_at, resolved, "
        "resolution_note) "
        "SELECT %(file)s, %(partner)s, %(bdate)s, c.row_no, split_part(c.err, {us}, 2), "
        "split_part(c.err, {us}, 1), substr(c.err, length(split_part(c.err, {us}, 1)) + "
        "length(split_part(c.err, {us}, 2)) + 3), coalesce(r.raw, {raw}), c.{main}, "
        "'INTAKE', now(), false, '' "
        "FROM intake_checked c JOIN intake_raw r ON r.row_no = c.row_no "
        "WHERE c.err IS NOT NULL ORDER BY c.row_no"
    ).format(us=L(US), raw=raw, main=Id(KINDS[kind].main_amount))
