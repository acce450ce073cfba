"""The posting rules as data: what each sub-ledger movement posts, and on which statement line.

One table, ``RULES``, read by ``lending.settlement.posting`` (step 6 posts the journals, step 7
builds the statements) and printed for the finance team by ``manage.py posting_rules``
(``docs/posting_rules.md`` is that output). A row covers an event, one or more components and
one or more funder kinds, and says one of three things:

- ``POST``: the movement group posts ``gl`` in the bank's book BANK_GL and/or ``memo`` in the
  funder's memo book MEMO_<CODE> (debit account and counterparty role, credit account and role;
  a reversal group posts the mirror lines), and adds ``platform_lines`` / ``guarantor_lines``
  to the run's statements (line type, sign from the counterparty's side: +1 it pays the bank);
- ``ACCRUAL_DELTA``: no event line — the receivable it changes reaches the GL through the
  accrual delta (``ACCRUALS``: each book's receivable set to the sub-ledger total);
- ``NOT_EMITTED``: the engine never emits it (``note`` says why); posting one is an error.

Every (``MovementEvent``, ``COMPONENTS``, ``FunderKind``) cell has exactly one row
(``rule_for``; tests/unit/settlement/test_posting_rules.py checks it from the enums).

Funder kind is the funder's part in the program: the BANK itself; a PLATFORM (the platform or a
co-funder: its memo book); the program's GUARANTOR (its memo book: the share it bought with a
claim). Counterparty roles: ``platform`` is the run's partner, ``guarantor`` the program's
guarantor, ``""`` none.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ledger.domain import chart
from lending.models import Component
from lending.settlement.errors import SettlementError
from lending.settlement.models import MovementEvent as E

PLATFORM, GUARANTOR, NONE = "platform", "guarantor", ""

# The components a movement carries: the loan's balances, and the cash beyond what was owed
# (an overpayment, a refund of it, a guarantor's claim money beyond the bank's share).
OVERPAYMENT = "OVERPAYMENT"
P, INT, PEN, CMP = (Component.PRINCIPAL.value, Component.INTEREST.value, Component.PENALTY.value,
                  Component.COMPOUND.value)
FEE, COSTS = Component.FEE.value, Component.COSTS.value
COMPONENTS: tuple[str, ...] = (P, INT, PEN, CMP, FEE, COSTS, OVERPAYMENT)
BALANCES = (P, INT, PEN, CMP)


class FunderKind(StrEnum):
    BANK = "BANK"
    PLATFORM = "PLATFORM"
    GUARANTOR = "GUARANTOR"


BANK, PLAT, GUAR = FunderKind.BANK, FunderKind.PLATFORM, FunderKind.GUARANTOR
ANY_FUNDER = (BANK, PLAT, GUAR)
PARTNERS = (PLAT, GUAR)


class Outcome(StrEnum):
    POST = "POST"
    ACCRUAL_DELTA = "ACCRUAL_DELTA"
    NOT_EMITTED = "NOT_EMITTED"


@dataclass(frozen=True)
class Posting:
    debit: str
    debit_role: str
    credit: str
    credit_role: str


@dataclass(frozen=True)
class Rule:
    event: str
    components: tuple[str, ...]
    funders: tuple[FunderKind, ...]
    outcome: Outcome = Outcome.POST
    gl: Posting | None = None  # in BANK_GL
    memo: Posting | None = None  # in the funder's memo book
    platform_lines: tuple[tuple[str, int], ...] = ()
    guarantor_lines: tuple[tuple[str, int], ...] = ()
    note: str = ""

    def __post_init__(self) -> None:
        posts = self.gl is not None or self.memo is not None
        if posts != (self.outcome == Outcome.POST):
            raise ValueError(f"{self}: a POST rule posts, the others do not")
        if self.outcome != Outcome.POST and (self.platform_lines or self.guarantor_lines):
            raise ValueError(f"{self}: statement lines without a posting")
        if self.memo is not None and BANK in self.funders:
            raise ValueError(f"{self}: the bank has no memo book")
        if self.outcome == Outcome.NOT_EMITTED and not self.note:
            raise ValueError(f"{self}: say why the engine never emits it")


class PostingRuleError(SettlementError):
    """A movement the posting table has no rule for, or says the engine never emits."""


def _post(event, components, funders, *, gl=None, memo=None, platform=(), guarantor=(),
          note=""):
    return Rule(event, tuple(components), tuple(funders), Outcome.POST,
                gl=Posting(*gl) if gl else None, memo=Posting(*memo) if memo else None,
                platform_lines=tuple(platform), guarantor_lines=tuple(guarantor), note=note)


def _accrual(event, components, funders, note=""):
    return Rule(event, tuple(components), tuple(funders), Outcome.ACCRUAL_DELTA, note=note)


def _never(event, components, funders, note):
    return Rule(event, tuple(components), tuple(funders), Outcome.NOT_EMITTED, note=note)


def _rest(*used: str) -> tuple[str, ...]:
    return tuple(c for c in COMPONENTS if c not in used)


c = chart
RECEIVABLE = {P: c.LOANS_RECEIVABLE, INT: c.INTEREST_RECEIVABLE, PEN: c.PENALTY_RECEIVABLE,
              CMP: c.PENALTY_RECEIVABLE}
# A platform statement shows the bank's collections by component; compound with penalty.
COLLECTION_LINE = {P: "COLLECTION_PRINCIPAL", INT: "COLLECTION_INTEREST",
                   PEN: "COLLECTION_PENALTY", CMP: "COLLECTION_PENALTY"}

_BANK_ONLY = "the engine emits it for the bank's share only"
_GUARANTOR_ONLY = "only the program's guarantor's share has it (after a claim)"
_CASH_ONLY = "it moves cash beyond the balances: component OVERPAYMENT only"
_BALANCES_ONLY = "it moves the loan's balances: principal, interest, penalty, compound"

RULES: tuple[Rule, ...] = (
    # --- Disbursement -------------------------------------------------------------------------
    _post(E.DISBURSE, [P], [BANK], gl=(c.LOANS_RECEIVABLE, NONE, c.DUE_TO_PLATFORM, PLATFORM),
          platform=[("DISBURSEMENT", -1)]),
    _post(E.DISBURSE, [P], PARTNERS, memo=(c.LOANS_RECEIVABLE, NONE, c.PARTNER_FUNDING, NONE)),
    _never(E.DISBURSE, _rest(P), ANY_FUNDER, "a disbursement is principal"),
    # --- Collections from the borrower (the platform holds the cash) ------------------------
    *(_post(E.COLLECT, [k], [BANK], gl=(c.DUE_FROM_PLATFORM, PLATFORM, RECEIVABLE[k], NONE),
            platform=[(COLLECTION_LINE[k], 1)]) for k in BALANCES),
    *(_post(E.COLLECT, [k], [PLAT], memo=(c.DUE_FROM_PLATFORM, PLATFORM, RECEIVABLE[k], NONE))
      for k in BALANCES),
    _never(E.COLLECT, _rest(*BALANCES), [BANK, PLAT], _BALANCES_ONLY),
    _never(E.COLLECT, COMPONENTS, [GUAR],
           "borrower money on the guarantor's share is a RECOVERY"),
    # --- Overpayment held by the bank, applied to a due instalment ----------------------------
    *(_post(E.SUSPENSE_APPLY, [k], [BANK], gl=(c.OVERPAYMENT_SUSPENSE, NONE, RECEIVABLE[k], NONE))
      for k in BALANCES),
    *(_post(E.SUSPENSE_APPLY, [k], [PLAT],
            gl=(c.OVERPAYMENT_SUSPENSE, NONE, c.DUE_TO_PLATFORM, PLATFORM),
            memo=(c.DUE_FROM_PLATFORM, PLATFORM, RECEIVABLE[k], NONE),
            platform=[("SUSPENSE_TO_PARTNER", -1)],
            note="the bank holds the cash; the partner's part is owed to the platform")
      for k in BALANCES),
    _never(E.SUSPENSE_APPLY, _rest(*BALANCES), [BANK, PLAT], _BALANCES_ONLY),
    _never(E.SUSPENSE_APPLY, COMPONENTS, [GUAR],
           "suspense paying the guarantor's share is a SUSP_RECOVERY"),
    # --- Overpayment to suspense, and its refund at closing (DOMAIN §8.8) -------------------
    _post(E.OVERPAY, [OVERPAYMENT], [BANK],
          gl=(c.DUE_FROM_PLATFORM, PLATFORM, c.OVERPAYMENT_SUSPENSE, NONE),
          platform=[("OVERPAYMENT", 1)]),
    _never(E.OVERPAY, _rest(OVERPAYMENT), [BANK], _CASH_ONLY),
    _never(E.OVERPAY, COMPONENTS, PARTNERS, "the bank holds the suspense for the loan"),
    _post(E.REFUND, [OVERPAYMENT], [BANK],
          gl=(c.OVERPAYMENT_SUSPENSE, NONE, c.DUE_TO_PLATFORM, PLATFORM),
          platform=[("REFUND", -1)], note="the advance left at closing, paid back through the "
                                          "platform"),
    _never(E.REFUND, _rest(OVERPAYMENT), [BANK], _CASH_ONLY),
    _never(E.REFUND, COMPONENTS, PARTNERS, "the bank holds the suspense for the loan"),
    # --- Claims (代偿): the guarantor buys the bank's share -----------------------------------
    *(_post(E.CLAIM, [k], [BANK], gl=(c.DUE_FROM_GUARANTOR, GUARANTOR, RECEIVABLE[k], NONE),
            guarantor=[("CLAIM_PAYMENT", 1)]) for k in BALANCES),
    _never(E.CLAIM, _rest(*BALANCES), [BANK], _BALANCES_ONLY),
    _never(E.CLAIM, COMPONENTS, PARTNERS, _BANK_ONLY),
    *(_post(E.CLAIM_IN, [k], [GUAR], memo=(RECEIVABLE[k], NONE, c.PARTNER_FUNDING, NONE),
            note="the guarantor bought the bank's share with its claim payment")
      for k in BALANCES),
    _never(E.CLAIM_IN, _rest(*BALANCES), [GUAR], _BALANCES_ONLY),
    _never(E.CLAIM_IN, COMPONENTS, [BANK, PLAT], _GUARANTOR_ONLY),
    _accrual(E.TRANSFER_OUT, [INT, PEN, CMP], [BANK],
             "penalty outside the claim scope moves to the guarantor without cash (and back, "
             "with what the guarantor's share took on since, when the claim is reversed)"),
    _never(E.TRANSFER_OUT, _rest(INT, PEN, CMP), [BANK],
           "the principal moves with the claim, never by transfer"),
    _never(E.TRANSFER_OUT, COMPONENTS, PARTNERS, _BANK_ONLY),
    _accrual(E.TRANSFER_IN, [INT, PEN, CMP], [GUAR],
             "the bank's left-over penalty, taken over without cash (given back, with the "
             "interest and penalty it took on since, when the claim is reversed)"),
    _never(E.TRANSFER_IN, _rest(INT, PEN, CMP), [GUAR],
           "the principal moves with the claim, never by transfer"),
    _never(E.TRANSFER_IN, COMPONENTS, [BANK, PLAT], _GUARANTOR_ONLY),
    _post(E.CLAIM_EXCESS, [OVERPAYMENT], [BANK],
          gl=(c.DUE_FROM_GUARANTOR, GUARANTOR, c.CLAIM_PAYABLE_TO_GUARANTOR, GUARANTOR),
          guarantor=[("CLAIM_EXCESS_RECEIVED", 1), ("CLAIM_EXCESS_REFUND", -1)],
          note="paid by the guarantor beyond the bank's share: owed back"),
    _never(E.CLAIM_EXCESS, _rest(OVERPAYMENT), [BANK], _CASH_ONLY),
    _never(E.CLAIM_EXCESS, COMPONENTS, PARTNERS, _BANK_ONLY),
    # --- Recoveries after a claim: borrower money on the guarantor's share -------------------
    *(_post(E.RECOVERY, [k], [GUAR],
            gl=(c.DUE_FROM_PLATFORM, PLATFORM, c.CLAIM_PAYABLE_TO_GUARANTOR, GUARANTOR),
            memo=(c.DUE_FROM_PLATFORM, PLATFORM, RECEIVABLE[k], NONE),
            platform=[("CLAIM_RECOVERY", 1)], guarantor=[("RECOVERY_TO_GUARANTOR", -1)],
            note="collected through the platform, routed to the guarantor") for k in BALANCES),
    _never(E.RECOVERY, _rest(*BALANCES), [GUAR], _BALANCES_ONLY),
    _never(E.RECOVERY, COMPONENTS, [BANK, PLAT], _GUARANTOR_ONLY),
    *(_post(E.SUSP_RECOVERY, [k], [GUAR],
            gl=(c.OVERPAYMENT_SUSPENSE, NONE, c.CLAIM_PAYABLE_TO_GUARANTOR, GUARANTOR),
            memo=(c.DUE_FROM_PLATFORM, PLATFORM, RECEIVABLE[k], NONE),
            guarantor=[("RECOVERY_TO_GUARANTOR", -1)],
            note="the bank's suspense paying the guarantor's share") for k in BALANCES),
    _never(E.SUSP_RECOVERY, _rest(*BALANCES), [GUAR], _BALANCES_ONLY),
    _never(E.SUSP_RECOVERY, COMPONENTS, [BANK, PLAT], _GUARANTOR_ONLY),
    # --- Service fee (BANK_FIXED_YIELD: the bank's interest above its yield) -----------------
    _post(E.FEE, [FEE], [BANK], gl=(c.FEE_EXPENSE, NONE, c.FEE_PAYABLE, PLATFORM),
          platform=[("SERVICE_FEE", -1)]),
    _never(E.FEE, _rest(FEE), [BANK], "a service fee is component FEE"),
    _never(E.FEE, COMPONENTS, PARTNERS, _BANK_ONLY),
    # --- Write-off (核销) and recoveries after it ----------------------------------------------
    _post(E.WRITE_OFF, [P], [BANK], gl=(c.LOSS_ALLOWANCE, NONE, c.LOANS_RECEIVABLE, NONE)),
    _post(E.WRITE_OFF, [P], PARTNERS, memo=(c.PARTNER_FUNDING, NONE, c.LOANS_RECEIVABLE, NONE)),
    _accrual(E.WRITE_OFF, [INT, PEN, CMP], ANY_FUNDER,
             "the written-off receivable leaves with the accrual delta"),
    _never(E.WRITE_OFF, _rest(*BALANCES), ANY_FUNDER, _BALANCES_ONLY),
    _post(E.WO_RECOVERY, [P], [BANK],
          gl=(c.DUE_FROM_PLATFORM, PLATFORM, c.WRITE_OFF_RECOVERIES, NONE),
          platform=[("WRITE_OFF_RECOVERY", 1)]),
    _post(E.WO_RECOVERY, [P], PARTNERS, memo=(c.DUE_FROM_PLATFORM, PLATFORM, c.PARTNER_FUNDING,
                                              NONE)),
    _never(E.WO_RECOVERY, _rest(P), ANY_FUNDER, "a recovery after write-off is principal"),
)
del c

# The accrual delta (posting.accrual_drafts): per book and program, each receivable is set to
# the sub-ledger total against its income (or contra) account.
ACCRUALS: tuple[tuple[str, str, str], ...] = (
    (chart.INTEREST_RECEIVABLE, chart.INTEREST_INCOME, "accruing loans' interest"),
    (chart.PENALTY_RECEIVABLE, chart.PENALTY_INCOME, "accruing loans' penalty and compound"),
    (chart.OFF_BALANCE_INTEREST, chart.OFF_BALANCE_CONTRA,
     "non-accruing loans' interest, penalty and compound"),
)


def _index(rules: tuple[Rule, ...]) -> dict[tuple[str, str, FunderKind], Rule]:
    out: dict[tuple[str, str, FunderKind], Rule] = {}
    for rule in rules:
        for component in rule.components:
            for funder in rule.funders:
                key = (str(rule.event), component, funder)
                if key in out:
                    raise ValueError(f"two posting rules for {key}")
                out[key] = rule
    return out


INDEX = _index(RULES)


def rule_for(event: str, component: str, funder: FunderKind) -> Rule:
    """The one rule of a movement group; PostingRuleError if it has none or must not occur."""
    rule = INDEX.get((event, component, funder))
    if rule is None:
        raise PostingRuleError(f"no posting rule for {event} {component} {funder} "
                               "(lending/settlement/posting_rules.py)")
    if rule.outcome == Outcome.NOT_EMITTED:
        raise PostingRuleError(f"{event} {component} {funder} is never emitted ({rule.note})")
    return rule


def funder_kind(funder_id: int, partner_kind: str, guarantor_id: int | None) -> FunderKind:
    if partner_kind == "BANK":
        return BANK
    return GUAR if funder_id == guarantor_id else PLAT


def legacy_line_table(side: str) -> dict[tuple[bool, str], tuple]:
    """The statement lines per (funder is bank, event) in the shape reports.selectors reads:
    (line type, sign), several of them, or ("COLLECTION_", sign) for a line per component."""
    groups: dict[tuple[bool, str], set[tuple[tuple[str, int], ...]]] = {}
    for rule in RULES:
        lines = rule.platform_lines if side == PLATFORM else rule.guarantor_lines
        if lines:
            for funder in rule.funders:
                groups.setdefault((funder == BANK, str(rule.event)), set()).add(lines)
    out: dict[tuple[bool, str], tuple] = {}
    for key, variants in groups.items():
        if len(variants) == 1:
            (lines,) = variants
            out[key] = lines[0] if len(lines) == 1 else lines
        elif all(len(v) == 1 and v[0][0].startswith("COLLECTION_") for v in variants) and \
                len({v[0][1] for v in variants}) == 1:
            out[key] = ("COLLECTION_", next(iter(variants))[0][1])
        else:
            raise ValueError(f"statement lines of {key} differ by component: {variants}")
    return out


# --- The table as the finance team reads it (manage.py posting_rules, docs/posting_rules.md) ---

def _account(code: str, role: str) -> str:
    name = {a.code: a.key for a in chart.CHART}[code]
    return f"{code} {name}" + (f" ({role})" if role else "")


def _lines(lines: tuple[tuple[str, int], ...]) -> str:
    return "; ".join(f"{kind} {sign:+d}" for kind, sign in lines)


def table_markdown() -> str:
    """The posting table in Markdown: event postings, the accrual delta, what is never emitted."""
    out = [
        "# Posting rules",
        "",
        "<!-- Generated from lending/settlement/posting_rules.py by",
        "     `python manage.py posting_rules > docs/posting_rules.md`; a test keeps them equal. -->",
        "",
        "What each movement group of a settlement run posts (step 6, one journal entry per book,",
        "program, event and reversal flag; a reversal posts the mirror lines) and the net",
        "settlement statement line it adds to (step 7; sign from the counterparty's side: +1 it",
        "pays the bank). Funder: BANK (the bank's share, book BANK_GL), PLATFORM (a platform's or",
        "co-funder's share, its memo book MEMO_<CODE>), GUARANTOR (the program's guarantor's",
        "share after a claim, its memo book). Counterparty roles in brackets: platform = the",
        "run's partner, guarantor = the program's guarantor. Every event x component x funder",
        "kind has exactly one rule.",
        "",
        "## Event postings",
        "",
        "| Event | Component | Funder | Book | Debit | Credit | Platform statement"
        " | Guarantor statement | Note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in RULES:
        if r.outcome == Outcome.NOT_EMITTED:
            continue
        head = f"| {r.event} | {', '.join(r.components)} | {', '.join(r.funders)}"
        if r.outcome == Outcome.ACCRUAL_DELTA:
            out.append(f"{head} | accrual delta | | | | | {r.note} |")
            continue
        postings = [(chart.BANK_GL, r.gl), ("MEMO_<FUNDER>", r.memo)]
        first = True
        for book, p in postings:
            if p is None:
                continue
            tail = (f" | {_lines(r.platform_lines)} | {_lines(r.guarantor_lines)} | {r.note} |"
                    if first else " | | | |")
            out.append(f"{head} | {book} | {_account(p.debit, p.debit_role)}"
                       f" | {_account(p.credit, p.credit_role)}{tail}")
            first = False
    out += [
        "",
        "## Accrual delta",
        "",
        "Per book and program, each receivable is set to the sub-ledger total (the run's",
        "positions) by posting the difference against its income or contra account; a rerun",
        "posts nothing.",
        "",
        "| Receivable | Against | Covers |",
        "|---|---|---|",
    ]
    out += [f"| {_account(a, '')} | {_account(b, '')} | {what} |" for a, b, what in ACCRUALS]
    out += [
        "",
        "## Never emitted",
        "",
        "The engine does not emit these; a run that meets one stops with an error.",
        "",
        "| Event | Components | Funders | Why |",
        "|---|---|---|---|",
    ]
    out += [f"| {r.event} | {', '.join(r.components)} | {', '.join(r.funders)} | {r.note} |"
            for r in RULES if r.outcome == Outcome.NOT_EMITTED]
    return "\n".join(out) + "\n"
