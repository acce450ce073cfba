"""Admin of what the settlement run wrote: runs (with the rerun action), alerts, statements,
movements and claims (read-only views; staff act only through the actions), and the payments
of the statements (finance records one on its own page; lending.settlement.statements)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
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
from lending.settlement import statements as statement_life
from lending.settlement.models import PaymentSource, StatementPayment


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
                    "run", "figures", "status", "due_date", "payment_reference")
    list_filter = ("status", "counterparty", ("business_date", admin.DateFieldListFilter))
    search_fields = ("=payment_reference",)
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


class PaymentForm(forms.Form):
    """What finance records of a statement's payment, as the bank shows it."""

    reference = forms.CharField(max_length=64, help_text="The statement's payment reference "
                                "(ST-<counterparty>-<yyyymmdd>-<id>), as quoted on the transfer.")
    value_date = forms.DateField(help_text="YYYY-MM-DD")
    amount = forms.DecimalField(max_digits=18, decimal_places=2, help_text=(
        "Signed like the statement's net: + the counterparty paid the bank, − the bank paid "
        "the counterparty (its release approved first)."))


def may_record_payments(request) -> bool:
    """Finance records payments: who may request changes and reads the ledger (as for the
    payment releases and manual journals, controls.admin)."""
    user = request.user
    return bool(user.is_active and user.is_staff and user.has_perm("controls.request_change")
                and user.has_perm("ledger.view_journalentry"))


@admin.register(StatementPayment)
class StatementPaymentAdmin(admin.ModelAdmin):
    """The payments of the statements: read by whoever reads statements; recorded by finance on
    *Record a payment* (the add page), or imported from the bank statement
    (`manage.py bank_statement_import`). Never changed or deleted here."""

    list_display = ("reference", "value_date", "amount", "currency", "source", "bank_line_id",
                    "recorded_by", "recorded_at", "statement_status")
    list_filter = ("source", ("value_date", admin.DateFieldListFilter))
    search_fields = ("=reference", "=bank_line_id")
    list_select_related = ("statement__counterparty", "recorded_by")
    readonly_fields = ("statement", "reference", "value_date", "amount", "currency", "source",
                       "bank_line_id", "recorded_by", "recorded_at", "journal_entry_key")
    fields = readonly_fields

    @admin.display(description="statement")
    def statement_status(self, obj) -> str:
        return obj.statement.status

    def has_view_permission(self, request, obj=None):
        user = request.user
        return bool(user.is_active and user.is_staff and (
            user.has_perm("lending.view_statementpayment")
            or user.has_perm("lending.view_statement")))

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return may_record_payments(request)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        return {}

    def add_view(self, request, form_url="", extra_context=None):
        """Record a payment: posted to the ledger at once (cash against the statement's due
        balances); every refusal is shown on the form."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        initial = {"value_date": timezone.localdate()}
        if request.GET.get("reference"):
            initial["reference"] = request.GET["reference"]
        form = PaymentForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            c = form.cleaned_data
            try:
                payment = statement_life.statement_payment_record(
                    reference=c["reference"], value_date=c["value_date"], amount=c["amount"],
                    source=PaymentSource.STAFF, recorded_by=request.user)
            except statement_life.StatementError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                st = payment.statement
                self.message_user(request, f"payment {payment.amount} of {st.payment_reference} "
                                           f"recorded and posted; the statement is {st.status}.",
                                  messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:lending_statementpayment_changelist"))
        return render(request, "admin/lending/statementpayment/record.html", {
            **self.admin_site.each_context(request), "title": "Record a statement payment",
            "form": form, "opts": self.model._meta,
        })


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
