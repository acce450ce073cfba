"""Admin of programs and agreements (versions approved by a second person)."""

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
                                           funders=funders,
                                           residual_owner=version.residual_owner
                                           if version.residual_owner_id else None)
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
