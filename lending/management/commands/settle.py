"""`python manage.py settle --date D [--partner CODE]`: run the daily settlement."""

from __future__ import annotations

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from lending.settlement import runner
from lending.settlement.models import RunState
from partners.models import Partner


class Command(BaseCommand):
    help = "Settle a business date for one partner or every platform; non-zero exit on failure."

    def add_arguments(self, parser):
        when = parser.add_mutually_exclusive_group(required=True)
        when.add_argument("--date", type=date.fromisoformat, help="one business date")
        when.add_argument("--through", type=date.fromisoformat,
                          help="the book of days: every business day up to this date that is "
                               "not DONE, oldest first, stopping per partner at the first that "
                               "cannot go (what the nightly task does up to yesterday)")
        parser.add_argument("--partner", help="partner code (default: every platform)")
        parser.add_argument("--quiet", action="store_true", help="only the summary")

    def handle(self, *args, **opts):
        if opts["partner"]:
            try:
                partners = [Partner.objects.get(code=opts["partner"])]
            except Partner.DoesNotExist as exc:
                raise CommandError(f"unknown partner {opts['partner']}") from exc
        else:
            partners = runner.settling_partners()
        progress = None if opts["quiet"] else (lambda m: self.stderr.write(m))
        if opts["through"]:
            return self._through(partners, opts["through"], progress)
        failed = []
        for partner in partners:
            try:
                run = runner.settlement_run(partner=partner, business_date=opts["date"],
                                            progress=progress)
            except runner.SettlementError as exc:
                failed.append(f"{partner.code}: {exc}")
                continue
            summary = {"partner": partner.code, "date": str(run.business_date),
                       "state": run.state, "error": run.error or None,
                       "fingerprint": run.fingerprint or None,
                       "statements": run.totals.get("statements"),
                       "quarantined_at_apply": run.totals.get("quarantined_at_apply"),
                       "posted": run.totals.get("posted")}
            self.stdout.write(json.dumps(summary))
            if run.state == RunState.FAILED:
                failed.append(f"{partner.code}: {run.error}")
        if failed:
            raise CommandError("settlement failed: " + "; ".join(failed))

    def _through(self, partners, up_to: date, progress) -> None:
        from lending.settlement import scheduler

        stuck = []
        for partner in partners:
            out = scheduler.settle_partner(partner, scheduler.open_days(partner, up_to),
                                           progress)
            self.stdout.write(json.dumps({"partner": partner.code, **out}))
            if out.get("stopped_at"):
                stuck.append(f"{partner.code}: {out['stopped_at']} {out['state']} "
                             f"{out.get('error') or ''}".strip())
        if stuck:
            raise CommandError("not settled through " + str(up_to) + ": " + "; ".join(stuck))
