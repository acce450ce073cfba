"""Pure ledger domain: drafts, balance checks, money helpers, chart."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain import chart
from ledger.domain.drafts import (
    EntryDraft,
    LineDraft,
    draft_check,
    drafts_check,
    imbalances,
    line_problem,
    month_start,
)
from ledger.domain.errors import DuplicateDraftKey, InvalidDraft, LedgerError, UnbalancedDraft
from ledger.domain.money import money, round_half_up

cents = st.integers(min_value=1, max_value=10**12).map(lambda n: Decimal(n).scaleb(-2))
currencies = st.sampled_from(["CNY", "USD", "HKD"])
accounts = st.sampled_from([a.code for a in chart.CHART])


@st.composite
def balanced_lines(draw):
    """Random one-sided lines in several currencies, closed per currency by one opposite line."""
    lines = draw(
        st.lists(st.tuples(accounts, cents, st.booleans(), currencies), min_size=1, max_size=30)
    )
    out, net = [], {}
    for account, amount, is_debit, cur in lines:
        out.append(
            LineDraft(
                account,
                amount if is_debit else Decimal("0.00"),
                Decimal("0.00") if is_debit else amount,
                cur,
            )
        )
        net[cur] = net.get(cur, Decimal(0)) + (amount if is_debit else -amount)
    for cur, amount in net.items():
        if amount > 0:
            out.append(LineDraft.cr(chart.ROUNDING, amount, currency=cur))
        elif amount < 0:
            out.append(LineDraft.dr(chart.ROUNDING, -amount, currency=cur))
    return tuple(draw(st.permutations(out)))


def _draft(lines, key="k"):
    return EntryDraft(
        book="BANK_GL",
        business_date=date(2026, 3, 2),
        idempotency_key=key,
        purpose="TEST",
        lines=tuple(lines),
    )


@given(balanced_lines())
def test_every_balanced_draft_passes_and_its_mirror_too(lines):
    draft_check(_draft(lines))
    draft_check(_draft([ln.mirrored() for ln in lines]))
    assert imbalances(lines) == {}


@given(balanced_lines(), cents)
def test_any_one_cent_change_unbalances(lines, extra):
    first = lines[0]
    bumped = (
        LineDraft(
            first.account,
            first.debit + extra if first.debit else first.debit,
            first.credit + extra if first.credit else first.credit,
            first.currency,
        ),
    )
    with pytest.raises(UnbalancedDraft, match="'k'"):
        draft_check(_draft(bumped + lines[1:]))


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        (LineDraft("1301", Decimal("1.00"), Decimal("1.00")), "exactly one"),
        (LineDraft("1301", Decimal("0"), Decimal("0")), "exactly one"),
        (LineDraft("1301", Decimal("-1.00"), Decimal("0")), "negative"),
        (LineDraft("1301", Decimal("1.005"), Decimal("0")), "not a Decimal in fen"),
        (LineDraft("1301", 1.0, Decimal("0")), "not a Decimal in fen"),  # type: ignore[arg-type]
        (LineDraft("1301", Decimal("NaN"), Decimal("0")), "not a Decimal in fen"),
        (LineDraft("1301", Decimal("Infinity"), Decimal("0")), "not a Decimal in fen"),
        (LineDraft("1301", Decimal("1E+17"), Decimal("0")), "exceeds"),
        (LineDraft("1301", Decimal("1.00"), currency="cny"), "three capitals"),
        (LineDraft("1301", Decimal("1.00"), program="x" * 65), "longer than 64"),
        (LineDraft("", Decimal("1.00")), "no account"),
    ],
)
def test_malformed_lines_are_named(line, fragment):
    assert fragment in line_problem(line)


def test_well_formed_line_has_no_problem():
    assert line_problem(LineDraft.dr("1301", Decimal("100"))) is None
    assert line_problem(LineDraft.cr("1301", Decimal("0.01"), currency="USD")) is None


def test_draft_level_problems_name_the_draft():
    with pytest.raises(InvalidDraft, match="has no lines"):
        draft_check(_draft([]))
    with pytest.raises(InvalidDraft, match="blank"):
        draft_check(_draft([LineDraft.dr("1", Decimal(1))], key=" "))
    ok = _draft([LineDraft.dr("1301", Decimal(1)), LineDraft.cr("2241", Decimal(1))])
    with pytest.raises(DuplicateDraftKey) as exc:
        drafts_check([ok, ok])
    assert isinstance(exc.value, LedgerError) and exc.value.key == "k"


def test_unbalanced_in_one_currency_though_totals_agree():
    lines = [
        LineDraft.dr("1001", Decimal("100.00"), currency="CNY"),
        LineDraft.cr("1001", Decimal("100.00"), currency="USD"),
    ]
    assert imbalances(lines) == {"CNY": Decimal("100.00"), "USD": Decimal("-100.00")}
    with pytest.raises(UnbalancedDraft, match="CNY"):
        draft_check(_draft(lines))


def test_money_helpers():
    assert money("12.3") == Decimal("12.30")
    with pytest.raises(TypeError):
        money(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        money("1.234")
    assert round_half_up(Decimal("0.005")) == Decimal("0.01")
    assert round_half_up(Decimal("2.345")) == Decimal("2.35")


def test_chart_codes_are_unique_and_memo_codes():
    assert len({a.code for a in chart.CHART}) == len(chart.CHART)
    assert len({a.key for a in chart.CHART}) == len(chart.CHART)
    assert chart.memo_book_code(" alpha ") == "MEMO_ALPHA"
    assert {a.code for a in chart.MEMO_ACCOUNTS} <= {a.code for a in chart.CHART}
    assert month_start(date(2026, 2, 28)) == date(2026, 2, 1)
