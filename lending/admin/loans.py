"""Admin of loans, with their funder shares and instalments."""

from __future__ import annotations

from django.contrib import admin

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
