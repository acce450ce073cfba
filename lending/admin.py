"""Back-office admin for programs, agreements and loans."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

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
    list_display = (
        "code", "name", "partner", "agreement", "currency", "day_count", "penalty_multiplier",
        "claim_trigger_dpd", "non_accrual_dpd", "write_off_dpd", "active",
    )
    list_filter = ("partner", "agreement", "day_count", "active")
    search_fields = ("code", "name", "partner__code")
    list_select_related = ("partner", "agreement")


class AgreementFunderInline(admin.TabularInline):
    model = AgreementFunder
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
class AgreementVersionAdmin(admin.ModelAdmin):
    """Drafts are editable by their maker; a second person approves; ACTIVE is read-only."""

    list_display = (
        "agreement", "version", "effective_from", "effective_to", "status", "interest_split_rule",
        "penalty_split_rule", "created_by", "approved_by",
    )
    list_filter = ("status", "agreement", "interest_split_rule")
    search_fields = ("agreement__code",)
    inlines = [AgreementFunderInline]
    actions = ["approve_versions"]
    readonly_fields = ("status", "created_by", "approved_by", "approved_at")

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
        super().save_model(request, obj, form, change)

    @admin.action(description="Approve selected versions (second person, four eyes)")
    def approve_versions(self, request: HttpRequest, queryset: QuerySet) -> None:
        for version in queryset.order_by("pk"):
            try:
                services.agreement_version_approve(version=version, approved_by=request.user)
            except services.LendingError as exc:
                self.message_user(request, f"{version}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{version} approved and active.", messages.SUCCESS)


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
