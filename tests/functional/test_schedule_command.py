"""`manage.py schedule`: print a loan's repayment schedule as a table or JSON (issue 3)."""

from __future__ import annotations

import json
from decimal import Decimal as D
from fractions import Fraction
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import given, settings
from hypothesis import strategies as st


def run_schedule(*args: str) -> str:
    out = StringIO()
    call_command("schedule", *args, stdout=out)
    return out.getvalue()


def schedule_json(principal, rate, term, method, disbursed_on, *extra):
    text = run_schedule(
        "--principal",
        str(principal),
        "--annual-rate",
        str(rate),
        "--term",
        str(term),
        "--method",
        method,
        "--disbursed-on",
        disbursed_on,
        *extra,
        "--json",
    )
    return json.loads(text)


def test_json_equal_installment_10000_at_12pct_over_12_months():
    data = schedule_json("10000", "0.12", 12, "EQUAL_INSTALLMENT", "2024-01-01")
    rows = data["installments"]
    assert set(data) == {"installments", "total_interest", "total_payment"}
    assert set(rows[0]) == {"seq", "due_on", "principal", "interest", "payment", "balance"}
    assert rows[0] == {
        "seq": 1,
        "due_on": "2024-02-01",
        "principal": "788.49",
        "interest": "100.00",
        "payment": "888.49",
        "balance": "9211.51",
    }
    assert [r["payment"] for r in rows] == ["888.49"] * 11 + ["888.47"]
    assert rows[-1]["balance"] == "0.00"
    assert data["total_interest"] == "661.86"
    assert data["total_payment"] == "10661.86"


def test_json_amounts_are_strings_with_two_decimals():
    data = schedule_json("5000", "12%", 3, "EQUAL_PRINCIPAL", "2024-01-31")
    for row in data["installments"]:
        for key in ("principal", "interest", "payment", "balance"):
            assert isinstance(row[key], str) and len(row[key].split(".")[1]) == 2
    assert [r["due_on"] for r in data["installments"]] == ["2024-02-29", "2024-03-31", "2024-04-30"]


def test_interest_first_day_count_and_first_due_date():
    act = schedule_json("10000", "0.12", 12, "INTEREST_FIRST", "2024-01-01")
    assert act["total_interest"] == "1219.98"
    thirty = schedule_json(
        "10000", "0.12", 12, "INTEREST_FIRST", "2024-01-01", "--day-count", "30/360"
    )
    assert thirty["total_interest"] == "1200.00"
    assert thirty["installments"][-1]["payment"] == "10100.00"
    shifted = schedule_json(
        "10000", "0.12", 2, "INTEREST_FIRST", "2024-01-01", "--first-due-on", "2024-01-21"
    )
    assert [r["due_on"] for r in shifted["installments"]] == ["2024-01-21", "2024-02-21"]
    assert shifted["installments"][0]["interest"] == "66.67"  # 20 days at ACT/360


def test_table_output_has_a_row_per_period_and_totals():
    text = run_schedule(
        "--principal",
        "10000",
        "--annual-rate",
        "0.12",
        "--term",
        "12",
        "--method",
        "EQUAL_PRINCIPAL",
        "--disbursed-on",
        "2024-01-01",
    )
    lines = text.strip().splitlines()
    assert lines[0].split() == ["seq", "due_on", "principal", "interest", "payment", "balance"]
    assert len(lines) == 14
    assert "933.33" in lines[1] and "841.70" in lines[12]
    assert lines[13].split() == ["total", "10,000.00", "650.00", "10,650.00"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--principal", "-5"], "--principal"),
        (["--principal", "10.001"], "--principal"),
        (["--annual-rate", "12"], "--annual-rate"),
        (["--annual-rate", "abc"], "--annual-rate"),
        (["--disbursed-on", "2024-13-01"], "--disbursed-on"),
        (["--first-due-on", "2023-12-01"], "first due date"),
        (["--term", "0"], "term"),
    ],
)
def test_bad_input_is_a_clear_command_error(args, message):
    base = {
        "--principal": "10000",
        "--annual-rate": "0.12",
        "--term": "12",
        "--method": "EQUAL_INSTALLMENT",
        "--disbursed-on": "2024-01-01",
    }
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    argv = [x for pair in base.items() for x in pair]
    with pytest.raises(CommandError, match=message):
        run_schedule(*argv)


def _annuity(principal: D, rate: D, term: int) -> D:
    i = Fraction(rate) / 12
    a = Fraction(principal) * i * (1 + i) ** term / ((1 + i) ** term - 1)
    whole, rest = divmod(a.numerator * 100, a.denominator)
    return D(whole + (2 * rest >= a.denominator)).scaleb(-2)


@settings(max_examples=150, deadline=None)
@given(
    principal=st.integers(10_000, 100_000_000).map(lambda c: D(c).scaleb(-2)),
    rate=st.integers(100, 3600).map(lambda b: D(b).scaleb(-4)),
    term=st.integers(1, 36),
)
def test_command_payment_is_the_annuity_formula_for_every_period_but_the_last(
    principal, rate, term
):
    data = schedule_json(principal, rate, term, "EQUAL_INSTALLMENT", "2024-01-31")
    expected = str(_annuity(principal, rate, term))
    assert all(r["payment"] == expected for r in data["installments"][:-1])
    assert data["installments"][-1]["balance"] == "0.00"
    assert sum(D(r["principal"]) for r in data["installments"]) == principal
