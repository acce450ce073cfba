"""Staff reports: the morning dashboard, statements that drill down, breaks triage, exports.

Design in brief (issue 22):
- Pages read what the settlement already keeps per day — each run's control totals
  (`SettlementRun.totals`: movements per event and component, the reconciliation's counts, the
  statements' nets), the statements and their lines, open breaks and alerts — never the loan
  table per request.
- The one figure the settlement does not keep per day is the portfolio by program and DPD class.
  `PortfolioDay` holds it: one row per partner, business date, program and DPD class, built once
  from the loans (one grouped scan for every partner missing its day) for a partner's latest
  DONE day, the day the loans' stored DPD belongs to (`services.portfolio_days_build`: by
  `manage.py portfolio_snapshot`, the task `reports.portfolio_snapshot`, which the dashboard
  queues when a settled day has none, showing the previous snapshot, dated, meanwhile). Rows
  are never rewritten: a later snapshot of the same day would see later ageing.
"""

from __future__ import annotations

from django.db import models

from partners.models import Partner

MONEY = {"max_digits": 18, "decimal_places": 2}


class DpdClass(models.TextChoices):
    CURRENT = "CURRENT", "Current (0)"
    DPD_1_30 = "DPD_1_30", "1–30"
    DPD_31_60 = "DPD_31_60", "31–60"
    DPD_61_90 = "DPD_61_90", "61–90"
    DPD_90_PLUS = "DPD_90_PLUS", "90+"


class PortfolioDay(models.Model):
    """The open portfolio of one partner's program in one DPD class as settled on a day."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    business_date = models.DateField()
    program = models.ForeignKey("lending.Program", on_delete=models.PROTECT, related_name="+")
    dpd_class = models.CharField(max_length=12, choices=DpdClass.choices)
    loans = models.PositiveIntegerField()
    principal_outstanding = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["partner_id", "business_date", "program_id", "dpd_class"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "business_date", "program", "dpd_class"],
                                    name="portfolio_day_unique"),
        ]
        indexes = [models.Index(fields=["business_date"], name="portfolio_day_date")]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.business_date} {self.program_id} {self.dpd_class}"
