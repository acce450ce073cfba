"""Admin of loans, with their funder shares and instalments."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import render

from controls import requests as change_requests
from controls.admin import RefuseUnavailableActions
from controls.models import RequestKind
from controls.permissions import ControlPermissions
from lending.models import (
    Installment,
    Loan,
    LoanShare,
)


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
        "penalty_unpaid", "penalty_paid", "compound_unpaid", "compound_paid", "status",
        "paid_on",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Loan)
class LoanAdmin(RefuseUnavailableActions, ControlPermissions, admin.ModelAdmin):
    """Loans are booked by the settlement run from partner files: read-only here. A write-off
    ordered by staff is a request a second person approves (controls.requests)."""

    actions = ["request_write_off"]

    @admin.action(description="Request the write-off (核销) of selected loans (an approver "
                              "approves)", permissions=["request"])
    def request_write_off(self, request: HttpRequest, queryset: QuerySet):
        if "apply" in request.POST:
            for loan in queryset.order_by("pk"):
                note = request.POST.get("note", "")
                payload = {"note": note}
                if request.POST.get("effective_on"):
                    payload["effective_on"] = request.POST["effective_on"]
                try:
                    req = change_requests.request_create(
                        kind=RequestKind.LOAN_WRITE_OFF, target_id=loan.pk,
                        payload=payload, note=note, by=request.user)
                except change_requests.RequestError as exc:
                    self.message_user(request, f"loan {loan.loan_no}: {exc}", messages.ERROR)
                else:
                    self.message_user(request, f"{req} submitted: loan {loan.loan_no} is "
                                               "written off when an approver approves it.",
                                      messages.WARNING)
            return None
        return render(request, "admin/lending/loan/write_off.html", {
            **self.admin_site.each_context(request),
            "title": "Request loan write-offs",
            "loans": queryset.select_related("partner").order_by("pk"),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        })

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
