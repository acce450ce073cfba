"""Regulatory limits (issue 21): thresholds, the bank's figures, related parties.

Risk asks for them (models named like a limit: controls.roles), the auditor reads them; the
audit trail records every change (controls.models). A row is never deleted: a new value is a
new row with its own effective date. Thresholds and bank figures are entered or changed only
through a four-eyes request (LIMIT_THRESHOLD, LIMIT_BANK_FIGURE: controls.requests.limit_rows):
their add and change forms validate the row and draft the request; nothing is written until an
approver approves it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse

from controls import requests as change_requests
from controls.models import (
    LimitBankFigure,
    LimitRelatedParty,
    LimitRelatedPartyGroup,
    LimitThreshold,
    RequestKind,
)
from controls.requests.limit_rows import IDENTITY, NEW_ROW


class NoDeleteAdmin(admin.ModelAdmin):
    def has_delete_permission(self, request, obj=None):
        return False


def _json(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


class FourEyesRowAdmin(NoDeleteAdmin):
    """Saving the form drafts and submits a request instead of writing the row; the page then
    shows the request (or, when refused, the list with the reason)."""

    request_kind: str

    def get_readonly_fields(self, request, obj=None):
        return (IDENTITY[self.request_kind],) if obj is not None else ()

    def save_model(self, request, obj, form, change):
        if change:
            current = type(obj)._default_manager.get(pk=obj.pk)
            payload = {name: _json(form.cleaned_data[name]) for name in form.changed_data
                       if form.cleaned_data[name] != getattr(current, name)}
        else:
            payload = {name: _json(value) for name, value in form.cleaned_data.items()}
        request.limit_change_request = None
        if payload:
            try:
                req = change_requests.request_create(
                    kind=self.request_kind, target_id=obj.pk if change else NEW_ROW,
                    payload=payload, by=request.user,
                    note=f"{'change of' if change else 'new'} {obj} from the admin")
            except change_requests.RequestError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                request.limit_change_request = req
                self.message_user(request, f"{req} submitted: it takes effect when a second "
                                           "person with the approver role approves it.",
                                  messages.WARNING)
        else:
            self.message_user(request, "nothing changed", messages.INFO)
        if change:
            obj.refresh_from_db()  # unchanged until approved

    def save_related(self, request, form, formsets, change):
        pass  # no related rows: nothing is written before the approval

    def log_addition(self, request, obj, message):
        pass  # no row yet: the request (and the audit trail) record who asked

    def log_change(self, request, obj, message):
        pass

    def _to_request(self, request):
        req = getattr(request, "limit_change_request", None)
        if req is not None:
            return HttpResponseRedirect(
                reverse("admin:controls_changerequest_change", args=[req.pk]))
        opts = self.model._meta
        return HttpResponseRedirect(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))

    def response_add(self, request, obj, post_url_continue=None):
        return self._to_request(request)

    def response_change(self, request, obj):
        return self._to_request(request)


@admin.register(LimitThreshold)
class LimitThresholdAdmin(FourEyesRowAdmin):
    """Each limit's threshold and warning level from a date on: the row in force on a day is
    the one with the latest effective date on or before it."""

    request_kind = RequestKind.LIMIT_THRESHOLD
    list_display = ("code", "threshold", "warning_level", "effective_from", "note")
    list_filter = ("code",)
    ordering = ("code", "-effective_from")


@admin.register(LimitBankFigure)
class LimitBankFigureAdmin(FourEyesRowAdmin):
    """The bank's net tier-1 capital and total loans, each from a date on (R2, R3)."""

    request_kind = RequestKind.LIMIT_BANK_FIGURE
    list_display = ("figure", "amount", "effective_from", "note")
    list_filter = ("figure",)
    ordering = ("figure", "-effective_from")


class LimitRelatedPartyInline(admin.TabularInline):
    model = LimitRelatedParty
    extra = 1

    def has_delete_permission(self, request, obj=None):  # leaving a group: a change
        return self.has_change_permission(request, obj)


@admin.register(LimitRelatedPartyGroup)
class LimitRelatedPartyGroupAdmin(NoDeleteAdmin):
    """Partners that are related parties of one another: R2 measures them together."""

    list_display = ("name", "members_list", "note")
    inlines = [LimitRelatedPartyInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("members__partner")

    @admin.display(description="members")
    def members_list(self, obj):
        return ", ".join(sorted(m.partner.code for m in obj.members.all()))
