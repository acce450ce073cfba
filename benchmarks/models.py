"""The benchmarks' own state (development only: the app is not installed with DEBUG=0)."""

from __future__ import annotations

from django.db import models


class BenchPortfolio(models.Model):
    """One generation of the settlement benchmark's scratch portfolio (benchmarks.settlement).

    Posted ledger lines are append-only, so a rebuilt portfolio never reuses the platform or
    the program dimensions of the one before: each generation has its own platform
    (BENCHP<generation>) and program codes (BCASHG<generation>, ...). At most one generation
    is current (not retired); a wipe retires it."""

    partner = models.OneToOneField("partners.Partner", on_delete=models.PROTECT,
                                   related_name="+",
                                   help_text="The scratch platform of this generation.")
    generation = models.PositiveIntegerField(unique=True)
    loans = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="N the portfolio was built for; empty while its build has not finished.")
    built_at = models.DateTimeField(null=True, blank=True,
                                    help_text="When the build (with its warm-up days) finished.")
    last_day = models.DateField(null=True, blank=True,
                                help_text="The last business day the benchmark settled.")
    retired_at = models.DateTimeField(null=True, blank=True,
                                      help_text="When a wipe retired it (empty: the current one).")

    class Meta:
        constraints = [
            # at most one current generation (retired_at NULL); NULLs compare equal here
            models.UniqueConstraint(fields=["retired_at"], condition=models.Q(retired_at=None),
                                    nulls_distinct=False,
                                    name="benchmarks_one_current_portfolio"),
        ]

    def __str__(self) -> str:
        state = "retired" if self.retired_at else "current"
        return f"bench portfolio G{self.generation} ({state}, N={self.loans})"
