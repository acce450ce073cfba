"""Back-office admin for programs, agreements and loans."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from controls import requests as change_requests
from controls.admin import reason_page
from controls.models import RequestKind
from controls.permissions import ControlPermissions
from lending import services
from lending.models import (
    Agreement,
    AgreementFunder,
    AgreementVersion,
    Installment,
    Loan,
    LoanShare,
    Program,
    VersionStatus,
)

FROZEN = (VersionStatus.ACTIVE, VersionStatus.RETIRED)


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    """Four eyes on programs: a change is saved as a request (controls.requests) that takes
    effect when an approver approves it; a new program starts inactive, with a request to
    activate it."""

    list_display = (
        "code", "name", "partner", "agreement", "currency", "day_count", "penalty_multiplier",
        "claim_trigger_dpd", "non_accrual_dpd", "write_off_dpd", "active",
    )
    list_filter = ("partner", "agreement", "day_count", "active")
    search_fields = ("code", "name", "partner__code")
    list_select_related = ("partner", "agreement")

    def get_readonly_fields(self, request, obj=None):
        return ("partner", "agreement", "code") if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        try:
            if not change:
                wanted_active, obj.active = obj.active, False
                super().save_model(request, obj, form, change)
                payload = {"active": True} if wanted_active else {}
            else:
                current = Program.objects.get(pk=obj.pk)
                payload = {name: (str(v) if hasattr(v, "as_tuple") else v)  # Decimal: text
                           for name in form.changed_data
                           for v in [form.cleaned_data[name]]
                           if v != getattr(current, name)}
            if payload:
                req = change_requests.request_create(
                    kind=RequestKind.PROGRAM_CHANGE, target_id=obj.pk, payload=payload,
                    note=f"{'new program' if not change else 'change'} from the admin",
                    by=request.user)
                self.message_user(request, f"{req} submitted: {obj} changes when an approver "
                                           "approves it.", messages.WARNING)
        except change_requests.RequestError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        if change:
            obj.refresh_from_db()  # unchanged until approved


class AgreementFunderFormSet(forms.BaseInlineFormSet):
    """The version's terms as a whole (ratios sum to 1, one bank, the bank's cap): a form
    error, checked by the same rule the services use (services.agreement_terms_check)."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        funders = [
            services.FunderTerms(f.cleaned_data["funder"], f.cleaned_data["principal_ratio"],
                                 f.cleaned_data.get("interest_rate"))
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
            and f.cleaned_data.get("funder") is not None
            and f.cleaned_data.get("principal_ratio") is not None
        ]
        version = self.instance
        if version.agreement_id is None or version.effective_from is None:
            return  # the version's own form reports these
        try:
            services.agreement_terms_check(agreement=version.agreement,
                                           effective_from=version.effective_from,
                                           funders=funders)
        except services.LendingError as exc:
            raise forms.ValidationError(str(exc)) from exc


class AgreementFunderInline(admin.TabularInline):
    model = AgreementFunder
    formset = AgreementFunderFormSet
    extra = 0
    fields = ("funder", "principal_ratio", "interest_rate")

    def _frozen(self, obj) -> bool:
        return obj is not None and obj.status in FROZEN

    def has_add_permission(self, request, obj=None):
        return not self._frozen(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not self._frozen(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._frozen(obj) and super().has_delete_permission(request, obj)


class AgreementVersionInline(admin.TabularInline):
    model = AgreementVersion
    extra = 0
    fields = ("version", "effective_from", "effective_to", "status", "interest_split_rule",
              "created_by", "approved_by")
    readonly_fields = fields
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Agreement)
class AgreementAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "platform", "guarantor", "signed_on")
    list_filter = ("platform", "guarantor")
    search_fields = ("code", "name", "platform__code")
    inlines = [AgreementVersionInline]


@admin.register(AgreementVersion)
class AgreementVersionAdmin(ControlPermissions, admin.ModelAdmin):
    """Four eyes (controls.four_eyes): a new version is a draft; its maker submits it; an
    approver who neither made nor edited it approves or rejects it (with a reason). An edit of
    a submitted version sends it back to draft and clears its approval. ACTIVE is read-only."""

    list_display = (
        "agreement", "version", "effective_from", "effective_to", "status", "interest_split_rule",
        "penalty_split_rule", "created_by", "approved_by",
    )
    list_filter = ("status", "agreement", "interest_split_rule")
    search_fields = ("agreement__code",)
    inlines = [AgreementFunderInline]
    actions = ["submit_versions", "approve_versions", "reject_versions"]
    readonly_fields = ("status", "created_by", "approved_by", "approved_at", "editor_ids",
                       "submitted_at", "rejected_by", "rejected_at", "rejection_reason")

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status in FROZEN:
            return [f.name for f in self.model._meta.fields]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status in FROZEN:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
            obj.status = VersionStatus.DRAFT
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        edited = form.has_changed() or any(fs.has_changed() for fs in formsets)
        if change and edited:
            version = services.agreement_version_edited(version=form.instance, by=request.user)
            self.message_user(request, f"{version} edited: it is a draft again and needs to be "
                                       "submitted and approved.", messages.WARNING)

    def _each(self, request, queryset, fn, done: str) -> None:
        for version in queryset.order_by("pk"):
            try:
                fn(version)
            except services.LendingError as exc:
                self.message_user(request, f"{version}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{version} {done}.", messages.SUCCESS)

    @admin.action(description="Submit selected drafts for approval", permissions=["request"])
    def submit_versions(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, lambda v: services.agreement_version_submit(
            version=v, by=request.user), "submitted for approval")

    @admin.action(description="Approve selected versions (second person, four eyes)",
                  permissions=["approve"])
    def approve_versions(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, lambda v: services.agreement_version_approve(
            version=v, approved_by=request.user, require_role=True), "approved and active")

    @admin.action(description="Reject selected versions (with a reason)",
                  permissions=["approve"])
    def reject_versions(self, request: HttpRequest, queryset: QuerySet):
        if "apply" not in request.POST:
            return reason_page(self, request, queryset, action="reject_versions",
                               question="Reject these agreement versions?")
        reason = request.POST.get("reason", "")
        self._each(request, queryset, lambda v: services.agreement_version_reject(
            version=v, by=request.user, reason=reason, require_role=True), "rejected")
        return None


class LoanShareInline(admin.TabularInline):
    model = LoanShare
    extra = 0
    can_delete = False
    fields = (
        "funder", "ratio", "interest_rate", "funded_principal", "principal_outstanding",
        "interest_outstanding", "penalty_outstanding", "compound_outstanding", "claimed_amount",
        "written_off_amount", "recovered_amount",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class InstallmentInline(admin.TabularInline):
    model = Installment
    extra = 0
    can_delete = False
    fields = (
        "seq", "due_on", "principal_due", "interest_due", "principal_paid", "interest_paid",
        "penalty_accrued", "penalty_paid", "compound_accrued", "compound_paid", "status",
        "paid_on",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Loan)
class LoanAdmin(admin.ModelAdmin):
    """Loans are booked by the settlement run from partner files: read-only here."""

    list_display = (
        "loan_no", "partner", "program", "principal", "annual_rate", "repayment_method",
        "disbursed_on", "state", "dpd", "risk_class", "accruing", "principal_outstanding",
        "bank_ratio",
    )
    list_filter = ("partner", "program", "state", "risk_class", "accruing", "repayment_method",
                   ("disbursed_on", admin.DateFieldListFilter))
    search_fields = ("loan_no", "partner__code", "bank_approval_ref")
    list_select_related = ("partner", "program")
    date_hierarchy = "disbursed_on"
    inlines = [LoanShareInline, InstallmentInline]
    show_full_result_count = False  # COUNT(*) over millions of loans on every page is wasteful

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Settlement runs, sub-ledger, claims, statements and reconciliation breaks ----------------
# (read-only views of what the settlement run wrote; staff act only through the actions)

import json  # noqa: E402

from django.db.models import Count, Q  # noqa: E402
from django.shortcuts import render  # noqa: E402
from django.utils.html import format_html  # noqa: E402

from lending.models import (  # noqa: E402
    Alert,
    Break,
    BreakStatus,
    Claim,
    Movement,
    Reconciliation,
    RunChunk,
    SettlementRun,
    Statement,
    StatementLine,
)
from lending.reconciliation import services as recon_services  # noqa: E402


class ReadOnlyAdminMixin:
    """Rows written by the settlement run: viewable, never added, changed or deleted here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
        if obj.state == "RUNNING" and obj.step:
            parts.append(f"now: {obj.step}")
        return " · ".join(parts) or "—"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        run = SettlementRun.objects.filter(pk=object_id).only("state").first()
        if run is not None and run.state == "RUNNING":
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


@admin.register(Reconciliation)
class ReconciliationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """One line per reconciled balances file: rows compared, differences, breaks opened."""

    list_display = ("business_date", "partner", "file", "their_rows", "our_loans",
                    "differences", "within_tolerance", "opened", "seen_again", "auto_cleared",
                    "reconciled_at")
    list_filter = ("partner", ("business_date", admin.DateFieldListFilter))
    list_select_related = ("partner", "file")
    date_hierarchy = "business_date"


@admin.register(Break)
class BreakAdmin(ControlPermissions, admin.ModelAdmin):
    """Reconciliation breaks: staff own and resolve them; nothing here deletes a break."""

    list_display = ("partner", "loan_no", "kind", "field", "ours", "theirs", "difference",
                    "status", "business_date", "last_seen_on", "age_days", "owner")
    list_filter = ("partner", "kind", "status", ("business_date", admin.DateFieldListFilter),
                   "field")
    search_fields = ("=loan_no",)
    list_select_related = ("partner", "owner")
    date_hierarchy = "business_date"
    actions = ["assign_to_me", "resolve_breaks"]
    readonly_fields = [f.name for f in Break._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        # the actions need no change permission (they go through the services)
        return {name: action for name, action in super().get_actions(request).items()
                if name != "delete_selected"}

    @admin.display(description="age (days)")
    def age_days(self, obj) -> int:
        return obj.age_days

    @admin.action(description="Assign selected open breaks to me", permissions=["work_breaks"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet) -> None:
        done = recon_services.breaks_assign(breaks=queryset, owner=request.user)
        self.message_user(request, f"{done} open break(s) assigned to you.")

    @admin.action(description="Resolve selected breaks with a note (a write-off needs an "
                              "approver)", permissions=["work_breaks"])
    def resolve_breaks(self, request: HttpRequest, queryset: QuerySet):
        if "apply" in request.POST and request.POST.get("status") == BreakStatus.WRITTEN_OFF:
            # four eyes: a write-off is a request an approver approves (controls.requests)
            for brk in queryset.order_by("pk"):
                try:
                    req = change_requests.request_create(
                        kind=RequestKind.BREAK_WRITE_OFF, target_id=brk.pk,
                        payload={"note": request.POST.get("note", "")},
                        note=request.POST.get("note", ""), by=request.user)
                except change_requests.RequestError as exc:
                    self.message_user(request, f"break {brk.pk}: {exc}", messages.ERROR)
                else:
                    self.message_user(request, f"{req} submitted: break {brk.pk} is written "
                                               "off when an approver approves it.",
                                      messages.WARNING)
            return None
        if "apply" in request.POST:
            try:
                done = recon_services.breaks_resolve(
                    breaks=queryset, note=request.POST.get("note", ""), by=request.user,
                    status=request.POST.get("status", BreakStatus.RESOLVED),
                )
            except recon_services.ReconciliationError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"{done} break(s) resolved.")
                return None
        return render(request, "admin/lending/break/resolve.html", {
            **self.admin_site.each_context(request),
            "title": "Resolve reconciliation breaks",
            "breaks": queryset.select_related("partner").order_by("pk"),
            "outcomes": [(BreakStatus.RESOLVED, BreakStatus.RESOLVED.label),
                         (BreakStatus.WRITTEN_OFF, BreakStatus.WRITTEN_OFF.label)],
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        })
