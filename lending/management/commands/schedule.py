"""Print a loan's repayment schedule (lending.domain.build_schedule) as a table or as JSON."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lending.domain import DayCount, DomainError, Method, build_schedule

SCHEDULE_METHODS = [m.value for m in Method if m != Method.DAILY]


def _money(value: str) -> Decimal:
    try:
        amount = Decimal(value.replace(",", ""))
    except InvalidOperation as exc:
        raise CommandError(f"--principal: not an amount: {value!r}") from exc
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise CommandError(
            f"--principal must be a positive amount with at most 2 decimals: {value}"
        )
    return amount.quantize(Decimal("0.01"))


def _rate(value: str) -> Decimal:
    """0.12 or 12% → Decimal('0.12')."""
    text = value.strip()
    percent = text.endswith("%")
    try:
        rate = Decimal(text.rstrip("%").strip())
    except InvalidOperation as exc:
        raise CommandError(f"--annual-rate: not a rate: {value!r}") from exc
    if not rate.is_finite():
        raise CommandError(f"--annual-rate: not a rate: {value!r}")
    if percent:
        rate = rate / 100
    if rate < 0 or rate >= 1:
        raise CommandError(
            f"--annual-rate must be a fraction in [0, 1) such as 0.12, or a percentage such as "
            f"12%: {value}"
        )
    return rate


def _day(option: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{option}: not a date (YYYY-MM-DD): {value!r}") from exc


class Command(BaseCommand):
    help = (
        "Print the repayment schedule of a loan. Example: manage.py schedule --principal 10000 "
        "--annual-rate 0.12 --term 12 --method EQUAL_INSTALLMENT --disbursed-on 2024-01-01"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--principal", required=True, help="loan amount, e.g. 10000.00")
        parser.add_argument(
            "--annual-rate", required=True, help="annual rate as a fraction (0.12) or 12%%"
        )
        parser.add_argument("--term", required=True, type=int, help="number of monthly periods")
        parser.add_argument("--method", required=True, choices=SCHEDULE_METHODS)
        parser.add_argument("--disbursed-on", required=True, help="YYYY-MM-DD")
        parser.add_argument(
            "--first-due-on", help="YYYY-MM-DD (default: one month after disbursement)"
        )
        parser.add_argument(
            "--day-count",
            default=DayCount.ACT_360.value,
            choices=[d.value for d in DayCount],
            help="day-count basis for INTEREST_FIRST (default ACT/360)",
        )
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")

    def handle(self, *args, **options) -> None:
        disbursed_on = _day("--disbursed-on", options["disbursed_on"])
        try:
            schedule = build_schedule(
                _money(options["principal"]),
                _rate(options["annual_rate"]),
                options["term"],
                options["method"],
                disbursed_on,
                _day("--first-due-on", options["first_due_on"]),
                options["day_count"],
            )
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(_as_json(schedule), ensure_ascii=False, indent=2))
        else:
            self.stdout.write(_as_table(schedule))


def _as_json(schedule) -> dict:
    return {
        "installments": [
            {
                "seq": row.seq,
                "due_on": row.due_on.isoformat(),
                "principal": str(row.principal),
                "interest": str(row.interest),
                "payment": str(row.payment),
                "balance": str(row.balance),
            }
            for row in schedule.installments
        ],
        "total_interest": str(schedule.total_interest),
        "total_payment": str(schedule.total_payment),
    }


def _as_table(schedule) -> str:
    fmt = "{:>4}  {:<10}  {:>14}  {:>12}  {:>14}  {:>14}"
    lines = [fmt.format("seq", "due_on", "principal", "interest", "payment", "balance")]
    for row in schedule.installments:
        lines.append(
            fmt.format(
                row.seq,
                row.due_on.isoformat(),
                f"{row.principal:,}",
                f"{row.interest:,}",
                f"{row.payment:,}",
                f"{row.balance:,}",
            )
        )
    lines.append(
        fmt.format(
            "",
            "total",
            f"{schedule.total_principal:,}",
            f"{schedule.total_interest:,}",
            f"{schedule.total_payment:,}",
            "",
        )
    )
    return "\n".join(lines)
