"""Admin of reconciliations and their breaks, which staff own and resolve."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import render

from controls import requests as change_requests
from controls.models import RequestKind
from controls.permissions import ControlPermissions
from lending.admin.readonly import ReadOnlyAdminMixin
from lending.models import (
    Break,
    BreakStatus,
    Reconciliation,
    ReconciliationTolerance,
)
from lending.reconciliation import services as recon_services


@admin.register(Reconciliation)
class ReconciliationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """One line per reconciled balances file: rows compared, differences, breaks opened."""

    list_display = ("business_date", "partner", "file", "their_rows", "our_loans",
                    "differences", "within_tolerance", "opened", "seen_again", "auto_cleared",
                    "reconciled_at")
    list_filter = ("partner", ("business_date", admin.DateFieldListFilter))
    list_select_related = ("partner", "file")
    date_hierarchy = "business_date"


@admin.register(ReconciliationTolerance)
class ReconciliationToleranceAdmin(admin.ModelAdmin):
    """A program's rounding tolerance (default 0.01 without a row; 0 to 1.00, a constraint)."""

    list_display = ("program", "amount_tolerance", "note", "updated_at")
    list_select_related = ("program",)


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
