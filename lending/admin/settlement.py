"""Admin of what the settlement run wrote: runs (with the rerun action), alerts, statements,
movements and claims (read-only views; staff act only through the actions)."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from controls.permissions import ControlPermissions
from lending.admin.readonly import ReadOnlyAdminMixin
from lending.models import (
    Alert,
    Claim,
    Movement,
    RunChunk,
    RunState,
    SettlementRun,
    Statement,
    StatementLine,
)


class RunChunkInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = RunChunk
    extra = 0
    fields = ("step", "seq", "lo_id", "hi_id", "dispatched_at", "dispatches", "done_at", "rows",
              "ms")
    readonly_fields = fields
    ordering = ("step", "seq")


@admin.register(SettlementRun)
class SettlementRunAdmin(ControlPermissions, admin.ModelAdmin):
    list_display = ("partner", "business_date", "state", "step", "chunk_progress", "attempts",
                    "started_at", "finished_at", "error_excerpt")
    list_filter = ("state", "partner", ("business_date", admin.DateFieldListFilter))
    search_fields = ("partner__code",)
    list_select_related = ("partner",)
    date_hierarchy = "business_date"
    inlines = [RunChunkInline]
    actions = ["rerun_runs"]
    fields = ("partner", "business_date", "state", "step", "progress", "attempts",
              "started_at", "finished_at", "fingerprint", "error", "totals_pretty")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            chunks_total=Count("chunks"),
            chunks_done=Count("chunks", filter=Q(chunks__done_at__isnull=False)),
        )

    @admin.display(description="chunks done")
    def chunk_progress(self, obj) -> str:
        return f"{obj.chunks_done}/{obj.chunks_total}"

    @admin.display(description="progress")
    def progress(self, obj) -> str:
        """Chunks done / total per step, the step running, and the chunks sent again after
        their worker stopped making progress."""
        parts = []
        for step in ("BOOK", "APPLY"):
            chunks = list(obj.chunks.filter(step=step).values_list("seq", "done_at",
                                                                   "dispatches"))
            if not chunks:
                continue
            done = sum(1 for _, at, _ in chunks if at)
            again = [f"#{seq} ({n}×)" for seq, _, n in chunks if n > 1]
            text = f"{step} {done}/{len(chunks)} chunks done"
            if again:
                text += f"; re-dispatched: {', '.join(again)}"
            parts.append(text)
        if obj.state == RunState.RUNNING and obj.step:
            parts.append(f"now: {obj.step}")
        return " · ".join(parts) or "—"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        run = SettlementRun.objects.filter(pk=object_id).only("state").first()
        if run is not None and run.state == RunState.RUNNING:
            response["Refresh"] = "5"  # the browser reloads the progress while it runs
        return response

    def changelist_view(self, request, extra_context=None):
        open_alerts = list(Alert.objects.filter(acknowledged_at__isnull=True)
                           .select_related("partner").order_by("-raised_at")[:11])
        for a in open_alerts[:10]:
            self.message_user(request, f"ALERT {a.get_reason_display()}: {a.message}",
                              messages.ERROR)
        if len(open_alerts) > 10:
            self.message_user(request, "… more open alerts: see Alerts", messages.ERROR)
        return super().changelist_view(request, extra_context)

    @admin.display(description="error")
    def error_excerpt(self, obj) -> str:
        first = obj.error.strip().splitlines()[-1] if obj.error.strip() else ""
        return first[:100] + ("…" if len(first) > 100 else "")

    @admin.display(description="control totals")
    def totals_pretty(self, obj):
        text = json.dumps(obj.totals, indent=2, sort_keys=True, ensure_ascii=False, default=str)
        return format_html("<pre>{}</pre>", text)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Rerun selected runs (done chunks are skipped)",
                  permissions=["operate"])
    def rerun_runs(self, request: HttpRequest, queryset: QuerySet) -> None:
        from lending.settlement import runner  # the runner imports the engine: load on use

        for run in queryset.order_by("pk"):
            try:  # sent to the workers: returns at once, the run page shows the progress
                runner.settlement_run_rerun(run=run)
            except Exception as exc:  # noqa: BLE001 - report each run's failure, go on
                self.message_user(request, f"{run}: {type(exc).__name__}: {exc}",
                                  messages.ERROR)
            else:
                self.message_user(request, f"{run.partner.code} {run.business_date}: rerun "
                                           "started (queued for the workers; the run page "
                                           "shows its progress).", messages.SUCCESS)


@admin.register(Alert)
class AlertAdmin(ControlPermissions, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("raised_at", "reason", "partner", "business_date", "message",
                    "acknowledged_at")
    list_filter = ("reason", "partner", ("acknowledged_at", admin.EmptyFieldListFilter))
    actions = ["acknowledge"]

    def get_actions(self, request):
        return {name: action for name, action in super().get_actions(request).items()
                if name != "delete_selected"}

    @admin.action(description="Acknowledge selected alerts (the banner goes)",
                  permissions=["operate"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet) -> None:
        from django.utils import timezone

        n = queryset.filter(acknowledged_at__isnull=True).update(acknowledged_at=timezone.now())
        self.message_user(request, f"{n} alert(s) acknowledged.", messages.SUCCESS)


class StatementLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = StatementLine
    extra = 0
    fields = ("line_type", "program_id", "amount", "description")
    readonly_fields = fields


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Statements of a run that is not DONE are provisional: staff see them marked so, the
    partner does not see them at all."""

    list_display = ("counterparty", "business_date", "platform", "net_amount", "currency",
                    "run", "figures")
    list_filter = ("counterparty", ("business_date", admin.DateFieldListFilter))
    list_select_related = ("counterparty", "run__partner")
    date_hierarchy = "business_date"
    inlines = [StatementLineInline]
    readonly_fields = ("figures",)

    @admin.display(description="platform", ordering="run__partner__code")
    def platform(self, obj):
        return obj.run.partner.code

    @admin.display(description="figures")
    def figures(self, obj):
        return f"PROVISIONAL (run {obj.run.state})" if obj.provisional else "final"


@admin.register(Movement)
class MovementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The sub-ledger behind every batch journal line (millions of rows: no full counts)."""

    list_display = ("business_date", "loan", "program_id", "funder", "event", "component",
                    "amount", "installment_seq", "txn_id", "reversal", "accruing")
    list_filter = (("business_date", admin.DateFieldListFilter), "event", "component",
                   "funder", "reversal")
    search_fields = ("=loan__loan_no",)  # exact: uses the (partner, loan_no) index
    list_select_related = ("loan__partner", "funder")
    show_full_result_count = False


@admin.register(Claim)
class ClaimAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("loan", "guarantor", "raised_on", "principal", "interest", "penalty",
                    "amount", "status", "paid_on", "paid_amount")
    list_filter = ("status", "guarantor", ("raised_on", admin.DateFieldListFilter))
    search_fields = ("=loan__loan_no",)
    list_select_related = ("loan__partner", "guarantor")
