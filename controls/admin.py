"""Admin of the controls: four-eyes change requests and the audit trail (browse, CSV export)."""

from __future__ import annotations

import csv
import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from pghistory.admin import EventsAdmin

from controls import requests as change_requests
from controls.models import ChangeRequest, RequestKind, RequestStatus
from controls.permissions import ControlPermissions


def reason_page(model_admin, request, queryset, *, action: str, question: str):
    """The intermediate page of an action that needs a reason (a rejection)."""
    return render(request, "admin/controls/action_reason.html", {
        **model_admin.admin_site.each_context(request),
        "title": question, "question": question, "objects": queryset.order_by("pk"),
        "action": action, "reason_label": "Reason (required)", "button": "Reject",
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        "opts": model_admin.model._meta,
    })


class RefuseUnavailableActions:
    """An action the user's roles do not give (approve, reject, submit, request a release) is
    refused with 403, not ignored as Django's "no action selected"."""

    def changelist_view(self, request, extra_context=None):
        action = request.POST.get("action") if request.method == "POST" else None
        if action and action not in self.get_actions(request):
            raise PermissionDenied
        return super().changelist_view(request, extra_context)


class ManualJournalForm(forms.Form):
    """A manual journal entry, drafted as a four-eyes request: posted only on approval."""

    book = forms.CharField(initial="BANK_GL", max_length=40)
    business_date = forms.DateField(help_text="YYYY-MM-DD, in an open period of the book")
    memo = forms.CharField(max_length=500, help_text="Why: shown to the approver and kept on "
                                                     "the entry.")
    lines = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        help_text="One line per row: account, debit, credit[, program[, counterparty]] — "
                  "e.g. <code>1132, 100.00, 0</code> then <code>2201, 0, 100.00</code>. "
                  "Debits must equal credits.")

    def clean_lines(self) -> list[dict]:
        out = []
        for n, row in enumerate(self.cleaned_data["lines"].splitlines(), start=1):
            if not row.strip():
                continue
            cells = [c.strip() for c in row.split(",")]
            if len(cells) < 3 or len(cells) > 5:
                raise forms.ValidationError(
                    f"row {n}: account, debit, credit[, program[, counterparty]] "
                    f"({len(cells)} values given)")
            line = dict(zip(("account", "debit", "credit", "program", "counterparty"), cells,
                            strict=False))
            out.append({k: v for k, v in line.items() if v != "" or k in ("debit", "credit")})
        return out

    def payload(self) -> dict:
        data = self.cleaned_data
        return {"book": data["book"].strip(), "business_date": data["business_date"].isoformat(),
                "memo": data["memo"].strip(), "lines": data["lines"]}


@admin.register(ChangeRequest)
class ChangeRequestAdmin(RefuseUnavailableActions, ControlPermissions, admin.ModelAdmin):
    """Program changes, break write-offs, partner status changes and manual journal entries
    waiting for (or decided by) a second person."""

    list_display = ("id", "kind", "target_id", "status", "created_by", "created_at",
                    "submitted_at", "decided_by", "decided_at", "rejection_reason")
    list_filter = ("kind", "status")
    actions = ["approve_requests", "reject_requests", "submit_requests"]
    readonly_fields = ("kind", "target_id", "status", "created_by", "created_at", "editor_ids",
                       "submitted_at", "decided_by", "decided_at", "rejection_reason",
                       "applied_result")
    fields = ("kind", "target_id", "payload", "note") + readonly_fields[2:]

    def has_add_permission(self, request):
        return False  # requests come from the program, break and partner pages, and the
        # manual journal page below

    def has_manual_journal_permission(self, request) -> bool:
        return _finance_request(request)

    def get_urls(self):
        return [path("manual-journal/", self.admin_site.admin_view(self.manual_journal_view),
                     name="controls_changerequest_manual_journal")] + super().get_urls()

    def manual_journal_view(self, request):
        """Draft and submit a manual journal entry; the ledger is untouched until a second
        person with the approver role approves it. Every refusal is shown on the form."""
        if not self.has_manual_journal_permission(request):
            raise PermissionDenied
        form = ManualJournalForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                req = change_requests.request_create(
                    kind=RequestKind.MANUAL_JOURNAL, target_id=0, payload=form.payload(),
                    note=form.cleaned_data["memo"], by=request.user)
            except change_requests.RequestError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, f"{req} submitted: it is posted when a second "
                                           "person with the approver role approves it.",
                                  messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:controls_changerequest_change", args=[req.pk]))
        return render(request, "admin/controls/manual_journal.html", {
            **self.admin_site.each_context(request), "title": "New manual journal entry",
            "form": form, "opts": self.model._meta,
        })

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status == RequestStatus.APPROVED:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        try:
            change_requests.request_edit(req=obj, by=request.user,
                                         payload=form.cleaned_data.get("payload"),
                                         note=form.cleaned_data.get("note"))
        except change_requests.RequestError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, f"{obj} is a draft again: submit it for approval.",
                              messages.WARNING)

    def _each(self, request, queryset, fn, done: str):
        for req in queryset.order_by("pk"):
            try:
                fn(req)
            except change_requests.RequestError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"{req} {done}.", messages.SUCCESS)

    @admin.action(description="Approve selected requests (second person, four eyes)",
                  permissions=["approve"])
    def approve_requests(self, request: HttpRequest, queryset):
        self._each(request, queryset, lambda r: change_requests.request_approve(
            req=r, by=request.user), "approved and applied")

    @admin.action(description="Reject selected requests (with a reason)",
                  permissions=["approve"])
    def reject_requests(self, request: HttpRequest, queryset):
        if "apply" not in request.POST:
            return reason_page(self, request, queryset, action="reject_requests",
                               question="Reject these requests?")
        reason = request.POST.get("reason", "")
        self._each(request, queryset, lambda r: change_requests.request_reject(
            req=r, by=request.user, reason=reason), "rejected")
        return None

    @admin.action(description="Submit selected drafts for approval", permissions=["request"])
    def submit_requests(self, request: HttpRequest, queryset):
        self._each(request, queryset, lambda r: change_requests.request_submit(
            req=r, by=request.user), "submitted")


EXPORT_COLUMNS = ("when", "event", "model", "object_id", "user_id", "username", "url",
                  "before", "after", "row")


class AuditEventsAdmin(ControlPermissions, EventsAdmin):
    """The audit trail: every tracked change, who made it, before and after (read-only; the
    event tables refuse updates and deletes). The auditor exports the filtered list as CSV."""

    change_list_template = "admin/controls/audit_change_list.html"

    def has_view_permission(self, request, obj=None):
        return _audit_viewer(request) and super().has_view_permission(request, obj)

    def has_module_permission(self, request):
        return _audit_viewer(request)

    def get_urls(self):
        return [path("export.csv", self.admin_site.admin_view(self.export_view),
                     name="controls_audit_export")] + super().get_urls()

    def export_view(self, request):
        """The events the list shows (its filters apply), as CSV, oldest first."""
        if not self.has_export_audit_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        events = changelist.get_queryset(request).order_by("pgh_created_at", "pgh_slug")
        return StreamingHttpResponse(
            _csv_rows(events), content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="audit-trail.csv"'})


def _finance_request(request) -> bool:
    """Finance's requests (manual journals, payment releases): who may request changes and
    reads the ledger."""
    user = request.user
    return bool(user.is_active and user.is_staff and user.has_perm("controls.request_change")
                and user.has_perm("ledger.view_journalentry"))


def _audit_viewer(request) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff and user.has_perm("controls.view_audit"))


def _csv_rows(events):
    class Echo:
        def write(self, value):
            return value

    writer = csv.writer(Echo())
    yield writer.writerow(EXPORT_COLUMNS)
    dump = lambda v: json.dumps(v, cls=DjangoJSONEncoder, ensure_ascii=False,  # noqa: E731
                                sort_keys=True)
    for e in events.iterator():
        context = e.pgh_context or {}
        diff = e.pgh_diff or {}
        yield writer.writerow((
            e.pgh_created_at.isoformat(), e.pgh_label, e.pgh_obj_model, e.pgh_obj_id,
            context.get("user", ""), context.get("username", ""), context.get("url", ""),
            dump({k: v[0] for k, v in diff.items()}), dump({k: v[1] for k, v in diff.items()}),
            dump(e.pgh_data),
        ))


# --- The schedule's actions (django-celery-beat) need the change permission -----------------
# Its admin offers enable / disable / toggle / run to anyone who can open the page; the same
# admin is registered again here with each action asking for the change permission.

from django_celery_beat.admin import PeriodicTaskAdmin  # noqa: E402
from django_celery_beat.models import PeriodicTask  # noqa: E402


def _guarded(name: str):
    original = getattr(PeriodicTaskAdmin, name)

    @admin.action(description=original.short_description, permissions=["change"])
    def action(self, request, queryset):
        return original(self, request, queryset)

    action.__name__ = name
    return action


class GuardedPeriodicTaskAdmin(PeriodicTaskAdmin):
    enable_tasks = _guarded("enable_tasks")
    disable_tasks = _guarded("disable_tasks")
    toggle_tasks = _guarded("toggle_tasks")
    run_tasks = _guarded("run_tasks")


admin.site.unregister(PeriodicTask)
admin.site.register(PeriodicTask, GuardedPeriodicTaskAdmin)


# --- A partner's status changes only through a four-eyes request ------------------------------
# The partners app imports no app above it, so its admin is registered again here with the
# action that drafts the request (PARTNER_STATUS, controls.requests).

from partners.admin import PartnerAdmin  # noqa: E402
from partners.models import Partner, PartnerStatus  # noqa: E402


class PartnerStatusRequestAdmin(PartnerAdmin):
    actions = ["request_status_change"]

    def has_status_request_permission(self, request) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff
                    and user.has_perm("controls.request_change")
                    and user.has_perm("partners.change_partner"))

    @admin.action(description="Request a status change (suspend, terminate, reactivate; an "
                              "approver approves)", permissions=["status_request"])
    def request_status_change(self, request, queryset):
        status = request.POST.get("status", "")
        if "apply" not in request.POST or status not in PartnerStatus.values:
            return render(request, "admin/partners/partner/status_request.html", {
                **self.admin_site.each_context(request),
                "title": "Request a partner status change", "objects": queryset,
                "statuses": PartnerStatus.choices, "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            })
        note = request.POST.get("note", "").strip()
        if not note:
            self.message_user(request, "a status change request needs a reason",
                              messages.ERROR)
            return None
        for partner in queryset.order_by("code"):
            try:
                req = change_requests.request_create(
                    kind=RequestKind.PARTNER_STATUS, target_id=partner.pk,
                    payload={"status": status}, note=note, by=request.user)
            except change_requests.RequestError as exc:
                self.message_user(request, f"{partner.code}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{req} submitted: {partner.code} becomes {status} "
                                           "when an approver approves it.", messages.WARNING)
        return None


admin.site.unregister(Partner)
admin.site.register(Partner, PartnerStatusRequestAdmin)


# --- A day's settlement payment is released only through a four-eyes request -----------------
# The statements' admin (lending) is registered again here with the action that drafts the
# request (PAYMENT_RELEASE, controls.requests) and a column saying whether it is released.

from lending.admin.settlement import StatementAdmin  # noqa: E402
from lending.models import Statement  # noqa: E402


class StatementReleaseAdmin(RefuseUnavailableActions, StatementAdmin):
    actions = ["request_payment_release"]
    list_display = (*StatementAdmin.list_display, "payment")
    list_select_related = (*StatementAdmin.list_select_related, "payment_release")

    def has_payment_release_permission(self, request) -> bool:
        return _finance_request(request)

    @admin.display(description="payment")
    def payment(self, obj):
        release = getattr(obj, "payment_release", None)
        if release is not None:
            return f"released {release.released_at:%Y-%m-%d %H:%M} by {release.released_by}"
        return "not released"

    @admin.action(description="Request the release of the payment (an approver approves)",
                  permissions=["payment_release"])
    def request_payment_release(self, request, queryset):
        for statement in queryset.select_related("run", "counterparty").order_by("pk"):
            try:
                req = change_requests.request_create(
                    kind=RequestKind.PAYMENT_RELEASE, target_id=statement.pk,
                    payload={"amount": str(statement.net_amount)},
                    note=f"release of {statement}", by=request.user)
            except change_requests.RequestError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"{req}: the payment of {statement} is released "
                                           "when an approver approves it.", messages.SUCCESS)


admin.site.unregister(Statement)
admin.site.register(Statement, StatementReleaseAdmin)


# --- Regulatory limits (issue 21): thresholds, the bank's figures, related parties ------------
# Risk adds and changes them (models named like a limit: controls.roles), the auditor reads
# them; the audit trail records every change (controls.models). A row is never deleted: a new
# value is a new row with its own effective date.

from controls.models import (  # noqa: E402
    LimitBankFigure,
    LimitRelatedParty,
    LimitRelatedPartyGroup,
    LimitThreshold,
)


class NoDeleteAdmin(admin.ModelAdmin):
    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LimitThreshold)
class LimitThresholdAdmin(NoDeleteAdmin):
    """Each limit's threshold and warning level from a date on: the row in force on a day is
    the one with the latest effective date on or before it."""

    list_display = ("code", "threshold", "warning_level", "effective_from", "note")
    list_filter = ("code",)
    ordering = ("code", "-effective_from")


@admin.register(LimitBankFigure)
class LimitBankFigureAdmin(NoDeleteAdmin):
    """The bank's net tier-1 capital and total loans, each from a date on (R2, R3)."""

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



# --- R5 on the program form: a maximum annual rate above the all-in cost cap is a form error --
# lending.admin imports this module, so the program's admin is re-registered from
# ControlsConfig.ready(), once every admin module is loaded (controls.apps).

class ProgramCostCapForm(forms.ModelForm):  # the admin's modelform_factory gives its Meta
    def clean_max_annual_rate(self):
        from django.utils import timezone

        from controls.limits import all_in_cost_error

        rate = self.cleaned_data.get("max_annual_rate")
        error = all_in_cost_error(rate, timezone.localdate())
        if error:
            raise forms.ValidationError(error)
        return rate


def program_admin_with_cost_cap() -> None:
    """The program's registered admin, its form checking R5 (once; idempotent)."""
    from lending.models import Program

    if not admin.site.is_registered(Program):
        return
    current = type(admin.site.get_model_admin(Program))
    if issubclass(current.form, ProgramCostCapForm):
        return
    form = type("CostCappedProgramForm", (ProgramCostCapForm, current.form),
                {"__module__": __name__})
    cost_capped = type(f"CostCapped{current.__name__}", (current,),
                       {"form": form, "__module__": __name__})
    admin.site.unregister(Program)
    admin.site.register(Program, cost_capped)


# --- The run's own page lists the alerts it raised (regulatory limits among them) -------------

from django.utils.html import format_html_join  # noqa: E402

from lending.admin.settlement import SettlementRunAdmin  # noqa: E402
from lending.models import SettlementRun  # noqa: E402


class SettlementRunAlertsAdmin(SettlementRunAdmin):
    fields = (*SettlementRunAdmin.fields, "run_alerts")
    readonly_fields = fields

    @admin.display(description="alerts")
    def run_alerts(self, obj):
        alerts = obj.alerts.order_by("raised_at").values_list("key", "message",
                                                               "acknowledged_at")
        if not alerts:
            return "—"
        return format_html_join(
            "", "<p><b>{}</b>{}: {}</p>",
            ((key, " (acknowledged)" if at else "", message) for key, message, at in alerts))


admin.site.unregister(SettlementRun)
admin.site.register(SettlementRun, SettlementRunAlertsAdmin)
